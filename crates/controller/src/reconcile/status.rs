//! Status rules for the `Synced` condition, as upstream: `lastUpdateTime` moves on every write,
//! `lastTransitionTime` only when the status flips; a write is needed when the status, reason or
//! message changes or `observedGeneration` lags. The result is a merge patch for the status
//! subresource, computed from the live object and never by mutating a cached copy.

use jiff::Timestamp;
use serde_json::json;

use crate::crd::{
    CONDITION_SYNCED as SYNCED, SealedSecretCondition as Condition, SealedSecretStatus as Status,
};

/// Kubernetes `metav1.Time`: RFC 3339 in UTC, whole seconds.
#[must_use]
pub fn kube_time(now: Timestamp) -> String {
    now.strftime("%Y-%m-%dT%H:%M:%SZ").to_string()
}

/// What the reconcile concluded, for the status.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Observed<'a> {
    /// The Secret matches the SealedSecret.
    Synced,
    /// It does not, for this reason (event reason) and message.
    Failed {
        /// Short reason, e.g. `ErrUnsealFailed`.
        reason: &'a str,
        /// Message without plaintext.
        message: &'a str,
    },
}

/// The new status to write, or `None` when the live one already says this.
#[must_use]
pub fn next_status(
    current: Option<&Status>,
    generation: Option<i64>,
    observed: &Observed<'_>,
    now: Timestamp,
) -> Option<Status> {
    let (status, reason, message) = match observed {
        Observed::Synced => ("True", None, None),
        Observed::Failed { reason, message } => (
            "False",
            Some((*reason).to_owned()),
            Some((*message).to_owned()),
        ),
    };
    let mut next = current.cloned().unwrap_or_default();
    let previous = next.conditions.iter().find(|c| c.type_ == SYNCED).cloned();
    let flipped = previous.as_ref().is_none_or(|c| c.status != status);
    let unchanged = !flipped
        && previous
            .as_ref()
            .is_some_and(|c| c.reason == reason && c.message == message)
        && next.observed_generation == generation;
    if unchanged {
        return None;
    }
    let now = kube_time(now);
    let condition = Condition {
        type_: SYNCED.into(),
        status: status.into(),
        last_update_time: Some(now.clone()),
        last_transition_time: if flipped {
            Some(now)
        } else {
            previous.and_then(|c| c.last_transition_time)
        },
        reason,
        message,
    };
    match next.conditions.iter_mut().find(|c| c.type_ == SYNCED) {
        Some(slot) => *slot = condition,
        None => next.conditions.push(condition),
    }
    next.observed_generation = generation;
    Some(next)
}

/// The JSON merge patch that writes `status` (conditions are replaced as a whole list).
#[must_use]
pub fn status_patch(status: &Status) -> serde_json::Value {
    json!({ "status": status })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(seconds: i64) -> Timestamp {
        Timestamp::from_second(seconds).unwrap()
    }

    fn failed<'a>(message: &'a str) -> Observed<'a> {
        Observed::Failed {
            reason: "ErrUnsealFailed",
            message,
        }
    }

    fn synced(status: &Status) -> &Condition {
        status
            .conditions
            .iter()
            .find(|c| c.type_ == SYNCED)
            .unwrap()
    }

    #[test]
    fn first_success_sets_both_times_equal() {
        let status = next_status(None, Some(1), &Observed::Synced, at(100)).unwrap();
        let c = synced(&status);
        assert_eq!(c.status, "True");
        assert_eq!(c.last_update_time, c.last_transition_time);
        assert_eq!(status.observed_generation, Some(1));
        assert!(c.message.is_none());
    }

    #[test]
    fn same_outcome_same_generation_writes_nothing() {
        let status = next_status(None, Some(1), &Observed::Synced, at(100)).unwrap();
        assert!(next_status(Some(&status), Some(1), &Observed::Synced, at(200)).is_none());
        let failed_status = next_status(None, Some(1), &failed("x"), at(100)).unwrap();
        assert!(next_status(Some(&failed_status), Some(1), &failed("x"), at(200)).is_none());
    }

    #[test]
    fn new_generation_moves_update_time_but_not_transition_time() {
        let first = next_status(None, Some(1), &Observed::Synced, at(100)).unwrap();
        let second = next_status(Some(&first), Some(2), &Observed::Synced, at(200)).unwrap();
        let c = synced(&second);
        assert_eq!(second.observed_generation, Some(2));
        assert_eq!(c.last_update_time, Some(kube_time(at(200))));
        assert_eq!(c.last_transition_time, Some(kube_time(at(100))));
    }

    #[test]
    fn recovery_from_failure_flips_to_true_and_clears_the_message() {
        // Upstream's stale "no key could decrypt" status: the next success must replace it.
        let bad = next_status(
            None,
            Some(1),
            &failed("no key could decrypt secret (foo)"),
            at(100),
        )
        .unwrap();
        assert_eq!(synced(&bad).status, "False");
        let good = next_status(Some(&bad), Some(1), &Observed::Synced, at(200)).unwrap();
        let c = synced(&good);
        assert_eq!(c.status, "True");
        assert!(c.message.is_none() && c.reason.is_none());
        assert_eq!(c.last_transition_time, Some(kube_time(at(200))));
    }

    #[test]
    fn changed_failure_message_is_written() {
        let bad = next_status(None, Some(1), &failed("a"), at(100)).unwrap();
        let worse = next_status(Some(&bad), Some(1), &failed("b"), at(200)).unwrap();
        assert_eq!(synced(&worse).message.as_deref(), Some("b"));
        assert_eq!(
            synced(&worse).last_transition_time,
            Some(kube_time(at(100)))
        );
    }

    #[test]
    fn other_conditions_are_kept_and_patch_shape_matches_upstream() {
        let mut current = Status::default();
        current.conditions.push(Condition {
            type_: "Other".into(),
            status: "True".into(),
            last_update_time: None,
            last_transition_time: None,
            reason: None,
            message: None,
        });
        let next = next_status(Some(&current), Some(3), &Observed::Synced, at(0)).unwrap();
        assert_eq!(next.conditions.len(), 2);
        let patch = status_patch(&next);
        assert_eq!(patch["status"]["observedGeneration"], 3);
        assert_eq!(patch["status"]["conditions"][1]["type"], "Synced");
        assert_eq!(
            patch["status"]["conditions"][1]["lastUpdateTime"],
            "1970-01-01T00:00:00Z"
        );
    }
}
