//! Leader election on a `coordination.k8s.io/v1` Lease, the way client-go's leader election
//! works: a replica takes the Lease when it is free or when its record has not changed for a
//! whole lease duration (measured on this replica's own clock, so clocks need not agree); the
//! leader renews it every third of the duration; shutting down releases it, and the other
//! replicas look often enough to take it over at once.
//!
//! Only the leader may write, and it may write only while its lease surely holds: every write of
//! the leader's work goes through a [`fenced`] client, which refuses writes once the last
//! successful renewal is older than the lease duration less a margin. A leader that was stopped
//! (SIGSTOP, a long GC pause, a frozen VM) past its lease therefore writes nothing when it
//! resumes, before it has even looked at the Lease again.

use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use futures::future::BoxFuture;
use k8s_openapi::api::coordination::v1::{Lease, LeaseSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{MicroTime, ObjectMeta};
use kube::Client;
use kube::api::{Api, PostParams};
use tokio::sync::watch;

/// Lease settings.
#[derive(Debug, Clone)]
pub struct LeaseConfig {
    /// Namespace of the Lease.
    pub namespace: String,
    /// Name of the Lease.
    pub name: String,
    /// This replica's identity (the pod name).
    pub identity: String,
    /// How long a lease lasts without renewal.
    pub duration: Duration,
}

impl LeaseConfig {
    fn duration(&self) -> Duration {
        self.duration.max(Duration::from_secs(1))
    }

    /// How often the leader renews.
    fn renew_every(&self) -> Duration {
        self.duration() / 3
    }

    /// How often a follower looks at the Lease: often enough to take over within a moment of a
    /// release or an expiry.
    fn poll_every(&self) -> Duration {
        (self.duration() / 20).clamp(Duration::from_millis(200), Duration::from_millis(500))
    }

    /// How much earlier than the others the leader stops trusting its lease: the others start
    /// counting only when they see the renewal, so this covers the leader's own delays.
    fn margin(&self) -> Duration {
        (self.duration() / 5).min(Duration::from_secs(2))
    }
}

/// Until when this replica may write as the leader.
#[derive(Debug, Default)]
pub struct Fence {
    valid_until: Mutex<Option<Instant>>,
}

impl Fence {
    fn lock(&self) -> std::sync::MutexGuard<'_, Option<Instant>> {
        self.valid_until
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// Whether the lease surely holds now.
    #[must_use]
    pub fn holds(&self) -> bool {
        self.lock().is_some_and(|until| Instant::now() < until)
    }

    fn extend(&self, until: Instant) {
        *self.lock() = Some(until);
    }

    fn revoke(&self) {
        *self.lock() = None;
    }
}

/// The error of a write refused because this replica does not surely hold the lease.
#[derive(Debug, thiserror::Error)]
#[error("not the leader: the write was not sent")]
pub struct NotLeader;

#[derive(Clone)]
struct FencedService {
    client: Client,
    fence: Arc<Fence>,
}

impl tower::Service<http::Request<kube::client::Body>> for FencedService {
    type Response = http::Response<kube::client::Body>;
    type Error = kube::Error;
    type Future = BoxFuture<'static, Result<Self::Response, Self::Error>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: http::Request<kube::client::Body>) -> Self::Future {
        let client = self.client.clone();
        let fence = Arc::clone(&self.fence);
        Box::pin(async move {
            // Reads (lists and watches included) are GETs; everything else writes.
            if request.method() != http::Method::GET && !fence.holds() {
                return Err(kube::Error::Service(Box::new(NotLeader)));
            }
            client.send(request).await
        })
    }
}

/// `client`, except that writes fail with [`NotLeader`] while `fence` does not hold.
#[must_use]
pub fn fenced(client: Client, fence: Arc<Fence>) -> Client {
    let namespace = client.default_namespace().to_owned();
    Client::new(FencedService { client, fence }, namespace)
}

/// What a replica does next with the Lease it read.
#[derive(Debug, PartialEq, Eq)]
enum Step {
    /// Write itself in as holder (new holder: `taking_over`).
    Claim { taking_over: bool },
    /// Another replica holds it; look again later.
    Follow,
}

/// The identifying part of a Lease record: it changes on every renewal.
type Record = (Option<String>, Option<MicroTime>, Option<i32>);

fn record(spec: &LeaseSpec) -> Record {
    (
        spec.holder_identity.clone(),
        spec.renew_time.clone(),
        spec.lease_transitions,
    )
}

/// The decision: claim a Lease held by nobody, by this replica, or whose record has not changed
/// for its whole duration since `unchanged_since` (this replica's clock); else follow.
fn step(identity: &str, spec: &LeaseSpec, unchanged_since: Instant, now: Instant) -> Step {
    let holder = spec.holder_identity.as_deref().filter(|h| !h.is_empty());
    let lasts =
        Duration::from_secs(u64::try_from(spec.lease_duration_seconds.unwrap_or(0)).unwrap_or(0));
    match holder {
        None => Step::Claim { taking_over: true },
        Some(holder) if holder == identity => Step::Claim { taking_over: false },
        Some(_) if now.duration_since(unchanged_since) >= lasts => {
            Step::Claim { taking_over: true }
        }
        Some(_) => Step::Follow,
    }
}

struct Elector {
    api: Api<Lease>,
    config: LeaseConfig,
    fence: Arc<Fence>,
    /// The last record seen, and since when (this replica's clock).
    seen: Option<(Record, Instant)>,
}

impl Elector {
    fn desired(&self, current: Option<&LeaseSpec>, taking_over: bool) -> LeaseSpec {
        let now = MicroTime(jiff::Timestamp::now());
        let transitions = current.and_then(|c| c.lease_transitions).unwrap_or(0);
        LeaseSpec {
            holder_identity: Some(self.config.identity.clone()),
            lease_duration_seconds: Some(
                i32::try_from(self.config.duration().as_secs()).unwrap_or(i32::MAX),
            ),
            acquire_time: if taking_over {
                Some(now.clone())
            } else {
                current.and_then(|c| c.acquire_time.clone())
            },
            renew_time: Some(now),
            lease_transitions: Some(if taking_over && current.is_some() {
                transitions.saturating_add(1)
            } else {
                transitions
            }),
            ..LeaseSpec::default()
        }
    }

    /// One round: read the Lease, claim or renew it when due. Whether this replica leads, and
    /// whether the API server answered.
    async fn round(&mut self) -> (bool, bool) {
        let started = Instant::now();
        let lease = match self.api.get_opt(&self.config.name).await {
            Ok(lease) => lease,
            Err(e) => {
                tracing::debug!(error = %e, "cannot read the Lease");
                return (self.fence.holds(), false);
            }
        };
        let written = match lease {
            None => {
                let lease = Lease {
                    metadata: ObjectMeta {
                        name: Some(self.config.name.clone()),
                        namespace: Some(self.config.namespace.clone()),
                        ..ObjectMeta::default()
                    },
                    spec: Some(self.desired(None, true)),
                };
                self.api.create(&PostParams::default(), &lease).await
            }
            Some(mut lease) => {
                let spec = lease.spec.clone().unwrap_or_default();
                let now = Instant::now();
                let current = record(&spec);
                let since = match &self.seen {
                    Some((seen, since)) if *seen == current => *since,
                    _ => now,
                };
                self.seen = Some((current, since));
                match step(&self.config.identity, &spec, since, now) {
                    Step::Follow => {
                        self.fence.revoke();
                        return (false, true);
                    }
                    // Ours, renewed less than a renewal period ago: only looked at.
                    Step::Claim { taking_over: false }
                        if now.duration_since(since) < self.config.renew_every()
                            && self.fence.holds() =>
                    {
                        return (true, true);
                    }
                    Step::Claim { taking_over } => {
                        lease.spec = Some(self.desired(Some(&spec), taking_over));
                        // resourceVersion is kept: of two claims only one succeeds.
                        self.api
                            .replace(&self.config.name, &PostParams::default(), &lease)
                            .await
                    }
                }
            }
        };
        match written {
            Ok(lease) => {
                self.seen = lease
                    .spec
                    .as_ref()
                    .map(|spec| (record(spec), Instant::now()));
                self.fence
                    .extend(started + self.config.duration() - self.config.margin());
                (true, true)
            }
            Err(kube::Error::Api(status)) if status.code == 409 => {
                // Someone else wrote first: they hold it now.
                self.fence.revoke();
                (false, true)
            }
            Err(e) => {
                tracing::debug!(error = %e, "cannot write the Lease");
                (self.fence.holds(), false)
            }
        }
    }

    /// Gives the Lease up (shutdown): the others take it at their next look.
    async fn release(&mut self) {
        self.fence.revoke();
        let Ok(Some(mut lease)) = self.api.get_opt(&self.config.name).await else {
            return;
        };
        let mine = lease
            .spec
            .as_ref()
            .and_then(|s| s.holder_identity.as_deref())
            == Some(self.config.identity.as_str());
        if !mine {
            return;
        }
        if let Some(spec) = lease.spec.as_mut() {
            spec.holder_identity = None;
            spec.lease_duration_seconds = Some(1);
            spec.renew_time = Some(MicroTime(jiff::Timestamp::now()));
        }
        match self
            .api
            .replace(&self.config.name, &PostParams::default(), &lease)
            .await
        {
            Ok(_) => tracing::info!("lease released"),
            Err(e) => tracing::warn!(error = %e, "cannot release the lease"),
        }
    }
}

/// Waits until the watched value satisfies `f`; false when the sender is gone. Unlike
/// `wait_for` in a `select!` arm, no `watch::Ref` outlives the wait: the borrow would be held
/// through the arm's body, which makes the future `!Send` and blocks the channel's sender.
async fn reached<T>(rx: &mut watch::Receiver<T>, f: impl FnMut(&T) -> bool) -> bool {
    rx.wait_for(f).await.is_ok()
}

/// An outage of the API server at least this long restarts the leader's work when it ends.
const OUTAGE_RESTART: Duration = Duration::from_secs(3);

/// How often the leader reads its Lease between renewals (see `lead`).
const LEADER_LOOKS_EVERY: Duration = Duration::from_secs(1);

/// How long leader work may take to stop on shutdown before it is aborted: the Lease is
/// released only after, and the other replica waits for it.
const STOP_GRACE: Duration = Duration::from_secs(1);

/// Runs `work` whenever this replica holds the lease, until `shutdown` turns true.
/// `work` gets a receiver that turns true when it should stop gracefully, and a client whose
/// writes fail unless the lease surely holds; on a lost lease the task is aborted instead.
pub async fn lead<F, Fut>(
    client: Client,
    config: LeaseConfig,
    mut shutdown: watch::Receiver<bool>,
    mut work: F,
) -> anyhow::Result<()>
where
    F: FnMut(watch::Receiver<bool>, Client) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    let fence = Arc::new(Fence::default());
    let writer = fenced(client.clone(), Arc::clone(&fence));
    let mut elector = Elector {
        api: Api::namespaced(client, &config.namespace),
        config: config.clone(),
        fence,
        seen: None,
    };
    let mut task: Option<(tokio::task::JoinHandle<()>, watch::Sender<bool>)> = None;
    let mut unreachable_since: Option<Instant> = None;
    loop {
        let (leading, answered) = elector.round().await;
        let outage = match (answered, unreachable_since) {
            (false, None) => {
                unreachable_since = Some(Instant::now());
                None
            }
            (true, Some(since)) => {
                unreachable_since = None;
                Some(since.elapsed())
            }
            _ => None,
        };
        if leading && outage.is_some_and(|outage| outage >= OUTAGE_RESTART) {
            // Watches that failed through a long outage may sit in back-off, or on a
            // connection the restarted server never answers: start the work afresh.
            tracing::info!(?outage, "the API server is back; restarting leader work");
            if let Some((handle, _)) = task.take() {
                handle.abort();
                let _ = handle.await;
            }
        }
        match (&mut task, leading) {
            (None, true) => {
                tracing::info!(identity = %config.identity, lease = %config.name, "became leader");
                let (stop_tx, stop_rx) = watch::channel(false);
                task = Some((tokio::spawn(work(stop_rx, writer.clone())), stop_tx));
            }
            (Some(_), false) => {
                tracing::warn!(identity = %config.identity, "lost the lease; stopping at once");
                if let Some((handle, _)) = task.take() {
                    handle.abort();
                    let _ = handle.await;
                }
            }
            (Some((handle, _)), true) if handle.is_finished() => {
                tracing::warn!("leader work ended on its own");
                task = None;
            }
            _ => {}
        }
        // The leader looks at least every second, renewing only when due: an outage shorter
        // than a renewal period could otherwise fall between two rounds unseen, and leave the
        // watches in back-off without the restart above.
        let pause = if leading && answered {
            config.renew_every().min(LEADER_LOOKS_EVERY)
        } else {
            config.poll_every()
        };
        tokio::select! {
            () = tokio::time::sleep(pause) => {}
            _ = reached(&mut shutdown, |stop| *stop) => break,
        }
    }
    if let Some((mut handle, stop)) = task.take() {
        let _ = stop.send(true);
        if tokio::time::timeout(STOP_GRACE, &mut handle).await.is_err() {
            handle.abort();
            let _ = handle.await;
        }
    }
    elector.release().await;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(holder: Option<&str>, seconds: i32) -> LeaseSpec {
        LeaseSpec {
            holder_identity: holder.map(str::to_owned),
            lease_duration_seconds: Some(seconds),
            ..LeaseSpec::default()
        }
    }

    #[test]
    fn a_free_or_own_lease_is_claimed_a_held_one_only_after_its_duration_unchanged() {
        let start = Instant::now();
        let later = |s: u64| start + Duration::from_secs(s);
        assert_eq!(
            step("a", &spec(None, 15), start, start),
            Step::Claim { taking_over: true }
        );
        assert_eq!(
            step("a", &spec(Some(""), 15), start, start),
            Step::Claim { taking_over: true }
        );
        assert_eq!(
            step("a", &spec(Some("a"), 15), start, start),
            Step::Claim { taking_over: false }
        );
        assert_eq!(
            step("a", &spec(Some("b"), 15), start, later(14)),
            Step::Follow
        );
        assert_eq!(
            step("a", &spec(Some("b"), 15), start, later(15)),
            Step::Claim { taking_over: true }
        );
    }

    #[test]
    fn the_fence_holds_only_until_its_deadline() {
        let fence = Fence::default();
        assert!(!fence.holds());
        fence.extend(Instant::now() + Duration::from_secs(60));
        assert!(fence.holds());
        fence.extend(Instant::now());
        assert!(!fence.holds());
        fence.extend(Instant::now() + Duration::from_secs(60));
        fence.revoke();
        assert!(!fence.holds());
    }

    /// A leader that resumes after its lease ran out (SIGSTOP, a long pause) may run a
    /// reconcile before its election loop looks at the Lease again: the client refuses that
    /// write by itself.
    #[tokio::test]
    async fn writes_through_the_fenced_client_fail_unless_the_lease_holds() {
        let fake = fake_apiserver::FakeApiServer::new();
        fake.create_namespace("ns");
        let fence = Arc::new(Fence::default());
        let api: Api<Lease> = Api::namespaced(fenced(fake.client("ns"), Arc::clone(&fence)), "ns");
        let lease = Lease {
            metadata: ObjectMeta {
                name: Some("l".into()),
                ..ObjectMeta::default()
            },
            spec: None,
        };
        let refused = api.create(&PostParams::default(), &lease).await;
        assert!(
            matches!(&refused, Err(kube::Error::Service(e)) if e.is::<NotLeader>()),
            "{refused:?}"
        );
        assert!(api.get_opt("l").await.expect("reads pass").is_none());
        fence.extend(Instant::now() + Duration::from_secs(60));
        api.create(&PostParams::default(), &lease)
            .await
            .expect("a write while the lease holds");
        fence.extend(Instant::now());
        assert!(api.delete("l", &Default::default()).await.is_err());
        assert!(api.get_opt("l").await.expect("reads pass").is_some());
    }

    #[test]
    fn the_leader_stops_trusting_its_lease_before_the_others_may_take_it() {
        for seconds in [3, 15, 60] {
            let config = LeaseConfig {
                namespace: "ns".into(),
                name: "lease".into(),
                identity: "a".into(),
                duration: Duration::from_secs(seconds),
            };
            assert!(config.margin() > Duration::ZERO);
            assert!(config.renew_every() < config.duration() - config.margin());
            assert!(config.poll_every() <= Duration::from_millis(500));
        }
    }
}
