//! What a reconcile tells the world, decided without I/O: the status it observed, and whether
//! an event is due. Events go out on change only (a Secret written, or an outcome other than
//! the last one reported), so that a resync of ten thousand settled objects sends none.

use crate::crd::{CONDITION_SYNCED, SealedSecretStatus};
use crate::events::EventType;

use super::decide::Failure;
use super::status::Observed;

/// How one reconcile ended, before anything is reported.
pub type Outcome = Result<(), Failure>;

/// Whether this reconcile wrote the Secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Written {
    /// No write: the Secret already matched, or the outcome was a failure.
    Nothing,
    /// Created or replaced; the API server answered with this resourceVersion.
    Secret {
        /// The written Secret's resourceVersion, if it had one.
        resource_version: Option<String>,
    },
}

/// The identity of an outcome as events and status tell it (reason and message): two outcomes
/// with the same key need no second event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OutcomeKey(u64);

impl OutcomeKey {
    /// The key of `outcome`.
    #[must_use]
    pub fn of(outcome: &Outcome) -> Self {
        match outcome {
            Ok(()) => Self::synced(),
            Err(failure) => Self::failed(failure.event_reason(), &failure.status_message()),
        }
    }

    /// The key of the outcome a live status reports for `generation`, if it reports one: how
    /// a restarted controller knows what it reported before.
    #[must_use]
    pub fn from_status(status: &SealedSecretStatus, generation: Option<i64>) -> Option<Self> {
        if status.observed_generation != generation {
            return None;
        }
        let synced = status
            .conditions
            .iter()
            .find(|c| c.type_ == CONDITION_SYNCED)?;
        Some(if synced.status == "True" {
            Self::synced()
        } else {
            Self::failed(
                synced.reason.as_deref().unwrap_or_default(),
                synced.message.as_deref().unwrap_or_default(),
            )
        })
    }

    fn synced() -> Self {
        Self::digest(&[b"Unsealed"])
    }

    fn failed(reason: &str, message: &str) -> Self {
        Self::digest(&[reason.as_bytes(), b":", message.as_bytes()])
    }

    fn digest(parts: &[&[u8]]) -> Self {
        use std::hash::{Hash as _, Hasher as _};
        let mut hasher = std::collections::hash_map::DefaultHasher::new();
        for part in parts {
            hasher.write(part);
        }
        0u8.hash(&mut hasher);
        Self(hasher.finish())
    }
}

/// An event to publish about the SealedSecret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventToPublish {
    /// Normal or Warning.
    pub type_: EventType,
    /// Upstream's reason (`Unsealed`, `ErrUnsealFailed`, ...).
    pub reason: &'static str,
    /// The note, without plaintext.
    pub note: String,
}

/// What to report for one reconcile.
#[derive(Debug)]
pub struct Report {
    /// The failure's reason and status message; none when synced.
    failure: Option<(&'static str, String)>,
    /// The event, when one is due.
    pub event: Option<EventToPublish>,
    /// The outcome's key, to remember as reported.
    pub key: OutcomeKey,
}

impl Report {
    /// What the status condition says.
    #[must_use]
    pub fn observed(&self) -> Observed<'_> {
        match &self.failure {
            Some((reason, message)) => Observed::Failed { reason, message },
            None => Observed::Synced,
        }
    }
}

/// Decides what to report about `outcome`, given whether the Secret was written and the key of
/// the outcome last reported for this object.
#[must_use]
pub fn report(outcome: &Outcome, written: &Written, previously: Option<OutcomeKey>) -> Report {
    let key = OutcomeKey::of(outcome);
    let due = *written != Written::Nothing || previously != Some(key);
    let event = due.then(|| match outcome {
        Ok(()) => EventToPublish {
            type_: EventType::Normal,
            reason: "Unsealed",
            note: "SealedSecret unsealed successfully".to_owned(),
        },
        Err(failure) => EventToPublish {
            type_: EventType::Warning,
            reason: failure.event_reason(),
            note: failure.event_message(),
        },
    });
    Report {
        failure: outcome
            .as_ref()
            .err()
            .map(|failure| (failure.event_reason(), failure.status_message())),
        event,
        key,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crd::SealedSecretCondition;

    fn unseal_failure(message: &str) -> Outcome {
        Err(Failure::Unseal(message.to_owned()))
    }

    fn written() -> Written {
        Written::Secret {
            resource_version: Some("7".into()),
        }
    }

    #[test]
    fn a_first_success_publishes_unsealed() {
        let outcome = Ok(());
        let r = report(&outcome, &written(), None);
        assert_eq!(r.observed(), Observed::Synced);
        let event = r.event.expect("an event");
        assert_eq!((event.type_, event.reason), (EventType::Normal, "Unsealed"));
    }

    #[test]
    fn the_same_outcome_again_publishes_nothing() {
        let outcome = unseal_failure("no key could decrypt");
        let before = OutcomeKey::of(&outcome);
        let r = report(&outcome, &Written::Nothing, Some(before));
        assert!(r.event.is_none());
        assert_eq!(r.key, before);
    }

    #[test]
    fn a_write_publishes_even_when_the_outcome_repeats() {
        let outcome = Ok(());
        let r = report(&outcome, &written(), Some(OutcomeKey::of(&outcome)));
        assert!(r.event.is_some());
    }

    #[test]
    fn another_failure_message_publishes_again() {
        let first = unseal_failure("no key could decrypt");
        let second = unseal_failure("cannot render template.data item (a)");
        let message = second.as_ref().unwrap_err().status_message();
        let r = report(&second, &Written::Nothing, Some(OutcomeKey::of(&first)));
        let event = r.event.as_ref().expect("an event");
        assert_eq!(event.type_, EventType::Warning);
        assert_eq!(event.reason, "ErrUnsealFailed");
        assert_eq!(
            r.observed(),
            Observed::Failed {
                reason: "ErrUnsealFailed",
                message: &message
            }
        );
    }

    #[test]
    fn a_status_read_back_after_a_restart_counts_as_reported() {
        let outcome = unseal_failure("no key could decrypt");
        let failure = outcome.as_ref().unwrap_err();
        let status = SealedSecretStatus {
            observed_generation: Some(3),
            conditions: vec![SealedSecretCondition {
                type_: CONDITION_SYNCED.into(),
                status: "False".into(),
                reason: Some(failure.event_reason().into()),
                message: Some(failure.status_message()),
                ..SealedSecretCondition::default()
            }],
        };
        assert_eq!(
            OutcomeKey::from_status(&status, Some(3)),
            Some(OutcomeKey::of(&outcome))
        );
        // A status about an older generation says nothing about this one.
        assert_eq!(OutcomeKey::from_status(&status, Some(4)), None);
        let synced = SealedSecretStatus {
            observed_generation: Some(3),
            conditions: vec![SealedSecretCondition {
                type_: CONDITION_SYNCED.into(),
                status: "True".into(),
                ..SealedSecretCondition::default()
            }],
        };
        assert_eq!(
            OutcomeKey::from_status(&synced, Some(3)),
            Some(OutcomeKey::of(&Ok(())))
        );
    }
}
