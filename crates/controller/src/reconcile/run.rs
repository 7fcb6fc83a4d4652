//! The I/O shell around [`decide`](super::decide): watches SealedSecrets and the Secrets they
//! produce, reads existing Secrets from the watch cache, makes at most one Secret write per
//! object, patches status against the live object, and emits events only when the outcome
//! changes.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use futures::future::{BoxFuture, Shared};
use futures::{FutureExt as _, Stream, StreamExt, future};
use k8s_openapi::api::core::v1::Secret;
use kube::api::{Api, DeleteParams, Patch, PatchParams, PostParams, Preconditions};
use kube::runtime::WatchStreamExt;
use kube::runtime::controller::{Action, Controller};
use kube::runtime::reflector::{self, ObjectRef, Store};
use kube::runtime::watcher::{self, Event as WatchEvent};
use kube::{Client, Resource, ResourceExt};
use seal::Fingerprint;

use super::cache::CachedSecret;
use super::decide::{
    DecideOptions, Failure, OthersMetadata, PlainSecret, SecretAction, apply_to_existing,
    deletable_with, desired_secret,
};
use super::listed::{Listed, Unreadable, Unreadables, without_values};
use super::report::{OutcomeKey, Written, report};
use super::status::{next_status, status_patch};
use crate::crd::SealedSecret;
use crate::events::{EventSink, EventType};
use crate::key_set::SharedKeys;
use crate::metrics::Metrics;

/// Where to watch SealedSecrets (not a sealing [`seal::Scope`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WatchScope {
    /// Every namespace.
    AllNamespaces,
    /// One namespace.
    Namespace(String),
}

/// Reconcile settings (from the flags).
#[derive(Debug, Clone)]
pub struct ReconcileConfig {
    /// Accept the deprecated v1 `spec.data` blob.
    pub accept_deprecated_v1_data: bool,
    /// Write the status subresource.
    pub update_status: bool,
    /// Delete the Secret when its SealedSecret goes (instead of garbage collection).
    pub old_gc_behavior: bool,
    /// Do not watch Secrets (no re-creation; existing Secrets are read live).
    pub skip_recreate: bool,
    /// Label selector for SealedSecrets (not for their Secrets).
    pub label_selector: Option<String>,
    /// Objects reconciled at once.
    pub workers: u16,
    /// Slow periodic resync of everything.
    pub resync_period: Option<Duration>,
    /// What rendering one object's `template.data` may use; the deadline also bounds how
    /// long a reconcile waits on the blocking pool for it.
    pub template_limits: gotemplate::Limits,
}

/// A reconcile that could not finish; retried with backoff.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The API server refused or failed a write; the message carries no plaintext.
    #[error("{0}")]
    Api(String),
    /// The object could not be read as a SealedSecret.
    #[error("cannot read SealedSecret: {0}")]
    Decode(String),
}

impl Error {
    /// Describes a client error by code and reason only.
    #[must_use]
    pub fn from_kube_public(err: &kube::Error) -> String {
        Self::from_kube("request", err).to_string()
    }

    fn from_kube(what: &str, err: &kube::Error) -> Self {
        // API error messages can quote request fields; keep code, reason and the fields that
        // were refused, with their messages stripped of quoted values.
        match err {
            kube::Error::Api(status) => {
                let causes: Vec<String> = status
                    .details
                    .iter()
                    .flat_map(|details| &details.causes)
                    .take(3)
                    .map(|cause| format!("{}: {}", cause.field, without_values(&cause.message)))
                    .collect();
                let mut message = format!("{what}: {} ({})", status.reason, status.code);
                if !causes.is_empty() {
                    message = format!("{message}: {}", causes.join("; "));
                }
                Self::Api(message)
            }
            other => Self::Api(format!("{what}: {}", error_kind(other))),
        }
    }
}

fn error_kind(err: &kube::Error) -> &'static str {
    match err {
        kube::Error::HyperError(_) | kube::Error::Service(_) => "connection failed",
        kube::Error::SerdeError(_) => "malformed response",
        _ => "request failed",
    }
}

#[derive(Debug, Default)]
struct Memory {
    /// The last `generation` seen in a watch event (spec changes trigger, others do not).
    generation_seen: GenerationSeen,
    key_hint: Option<Arc<Fingerprint>>,
    /// Inputs of the last successful reconcile: nothing to do while they stay the same.
    synced: Option<Inputs>,
    /// The last outcome reported (for events on change only).
    reported: Option<OutcomeKey>,
    failures: u32,
}

/// Whether a watch event showed the object before, and with which `metadata.generation` (which
/// an object may lack).
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
enum GenerationSeen {
    #[default]
    Never,
    Seen(Option<i64>),
}

/// What a reconcile's result depends on: the spec, the Secret as last seen, and the keys.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Inputs {
    generation: Option<i64>,
    secret_version: Option<String>,
    key_epoch: u64,
}

/// Shared state of the reconcile loop.
pub struct Context {
    client: Client,
    keys: Arc<SharedKeys>,
    metrics: Arc<Metrics>,
    recorder: EventSink,
    config: ReconcileConfig,
    secrets: Option<Store<CachedSecret>>,
    /// Resolves once the Secret cache is filled. Reconciles must not each call
    /// `Store::wait_until_ready`: kube-runtime backs it with a oneshot channel that keeps one
    /// waker, so of several reconciles waiting at once only the last is ever woken and the
    /// others hang for good (holding their worker slots). One shared waiter wakes them all.
    secrets_ready: Shared<BoxFuture<'static, ()>>,
    /// The key that opened the last object: the hint for objects not opened before (every
    /// object after a restart). Values carry no key id, so without it each such object pays
    /// one RSA decrypt per newer key before its own, e.g. 26 instead of 3 for 3 values sealed
    /// with the oldest of 24 keys; objects sealed in the same period share their key.
    /// Shared by every object it opened (one allocation, not one per object).
    last_key: Mutex<Option<Arc<Fingerprint>>>,
    memory: Mutex<HashMap<String, Memory>>,
    /// SealedSecrets that could not be read (reported once per version, skipped).
    unreadable: Mutex<Unreadables>,
}

impl Context {
    fn remember<T>(&self, uid: &str, f: impl FnOnce(&mut Memory) -> T) -> T {
        let mut memory = self.memory.lock().unwrap_or_else(PoisonError::into_inner);
        f(memory.entry(uid.to_owned()).or_default())
    }

    /// The key that opened an object, shared with the other objects it opened.
    fn shared_key(&self, key: Fingerprint) -> Arc<Fingerprint> {
        let mut last = self.last_key.lock().unwrap_or_else(PoisonError::into_inner);
        match &*last {
            Some(shared) if **shared == key => Arc::clone(shared),
            _ => Arc::clone(last.insert(Arc::new(key))),
        }
    }

    fn unreadables<T>(&self, f: impl FnOnce(&mut Unreadables) -> T) -> T {
        f(&mut self
            .unreadable
            .lock()
            .unwrap_or_else(PoisonError::into_inner))
    }

    /// Updates `undecodable_objects` for namespaces whose count changed.
    fn count_unreadable(&self, namespaces: impl IntoIterator<Item = String>) {
        for namespace in namespaces {
            let count = self.unreadables(|u| u.count_in(&namespace));
            self.metrics.set_undecodable(&namespace, count);
        }
    }

    fn forget(&self, uid: &str) {
        self.memory
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(uid);
    }
}

fn instance_label(object: &SealedSecret) -> String {
    object
        .labels()
        .get("app.kubernetes.io/instance")
        .cloned()
        .unwrap_or_default()
}

/// Runs the reconcile loop for `scope` until `shutdown` resolves.
pub async fn run(
    client: Client,
    scope: WatchScope,
    keys: Arc<SharedKeys>,
    metrics: Arc<Metrics>,
    recorder: EventSink,
    config: ReconcileConfig,
    shutdown: impl Future<Output = ()> + Send + Sync + 'static,
) {
    let (sealed_api, secret_api): (Api<Listed>, Api<CachedSecret>) = match &scope {
        WatchScope::AllNamespaces => (Api::all(client.clone()), Api::all(client.clone())),
        WatchScope::Namespace(ns) => (
            Api::namespaced(client.clone(), ns),
            Api::namespaced(client.clone(), ns),
        ),
    };
    let mut watch_config = watcher::Config::default();
    if let Some(selector) = &config.label_selector {
        watch_config = watch_config.labels(selector);
    }

    let (sealed_reader, sealed_writer) = reflector::store::<SealedSecret>();
    let (relisted_tx, relisted) = futures::channel::mpsc::unbounded::<()>();
    let (secret_store, secret_stream) = if config.skip_recreate {
        (None, None)
    } else {
        let (reader, writer) = reflector::store::<CachedSecret>();
        // Not filtered by --label-selector: that selects SealedSecrets, and the Secrets they
        // make carry their templates' labels. A filtered cache misses such a Secret, so
        // updates would create it again (409, retried for ever) and, once deleted, it
        // would not be re-created.
        let stream = watcher::watcher(secret_api, watcher::Config::default())
            .backoff(watch_backoff())
            .modify(CachedSecret::slim)
            .reflect(writer)
            .inspect(move |event| {
                // A relist replaces the cache without a Delete for what vanished meanwhile, so
                // a Secret deleted while the watch was down would never be re-created: look at
                // everything again (unchanged objects are skipped without RSA work).
                if matches!(event, Ok(WatchEvent::InitDone)) {
                    let _ = relisted_tx.unbounded_send(());
                }
            })
            .touched_objects();
        (Some(reader), Some(stream))
    };

    let secrets_ready = match &secret_store {
        Some(store) => {
            let store = store.clone();
            async move {
                let _ = store.wait_until_ready().await;
            }
            .boxed()
        }
        None => future::ready(()).boxed(),
    }
    .shared();
    let context = Arc::new(Context {
        client: client.clone(),
        keys: Arc::clone(&keys),
        metrics,
        recorder,
        config: config.clone(),
        secrets: secret_store.clone(),
        secrets_ready,
        last_key: Mutex::default(),
        memory: Mutex::default(),
        unreadable: Mutex::default(),
    });

    let trigger = sealed_trigger(
        readable_only(
            watcher::watcher(sealed_api, watch_config).backoff(watch_backoff()),
            Arc::clone(&context),
        )
        .modify(slim_for_cache)
        .reflect(sealed_writer),
        sealed_reader.clone(),
        Arc::clone(&context),
    );
    let mut controller = Controller::for_stream(trigger, sealed_reader)
        .with_config(kube::runtime::controller::Config::default().concurrency(config.workers))
        .reconcile_all_on(futures::stream::select(
            resync_triggers(&keys, config.resync_period),
            relisted,
        ))
        .graceful_shutdown_on(shutdown);
    if let Some(stream) = secret_stream {
        controller = controller.watches_stream(stream, |secret: CachedSecret| {
            // A Secret this controller owns or may manage changed or went away: look again.
            secret.wanted_back().then(|| {
                ObjectRef::new(&secret.name_any()).within(&secret.namespace().unwrap_or_default())
            })
        });
    }
    controller
        .run(reconcile, error_policy, context)
        .for_each(|result| {
            if let Err(e) = result {
                tracing::debug!(error = %e, "reconcile trigger");
            }
            future::ready(())
        })
        .await;
}

/// Back-off of the controller's watches: doubling from 0.5 s to at most 2 s, back to 0.5 s
/// after any success. kube's default grows to 30 s and resets only after two minutes without
/// errors, so a watch could sleep up to 30 s past an API server's return, and an outage must
/// heal within seconds of `/readyz`. Retrying a refused connection every 2 s costs nothing.
#[derive(Debug, Clone)]
pub struct WatchBackoff {
    next: Duration,
}

impl WatchBackoff {
    const FIRST: Duration = Duration::from_millis(500);
    const MAX: Duration = Duration::from_secs(2);
}

impl Default for WatchBackoff {
    fn default() -> Self {
        Self { next: Self::FIRST }
    }
}

impl Iterator for WatchBackoff {
    type Item = Duration;

    fn next(&mut self) -> Option<Duration> {
        let delay = self.next;
        self.next = (delay * 2).min(Self::MAX);
        Some(delay)
    }
}

impl kube::runtime::utils::Backoff for WatchBackoff {
    fn reset(&mut self) {
        self.next = Self::FIRST;
    }
}

/// [`WatchBackoff`] for a new watch.
#[must_use]
pub fn watch_backoff() -> WatchBackoff {
    WatchBackoff::default()
}

/// The watch as SealedSecrets: objects that cannot be read are reported (once per version: a
/// warning, a Warning event on the object, the `undecodable_objects` metric) and left out, so
/// that one bad object cannot stop the list, or anything else, from being reconciled. An
/// object that turns unreadable keeps its last readable version in the cache: its Secret stays
/// as it was rather than being treated as deleted.
fn readable_only(
    events: impl Stream<Item = Result<WatchEvent<Listed>, watcher::Error>> + Send + 'static,
    context: Arc<Context>,
) -> impl Stream<Item = Result<WatchEvent<SealedSecret>, watcher::Error>> + Send + 'static {
    events.filter_map(move |event| {
        let out = match event {
            Ok(WatchEvent::Apply(listed)) => readable(listed, &context).map(WatchEvent::Apply),
            Ok(WatchEvent::InitApply(listed)) => {
                readable(listed, &context).map(WatchEvent::InitApply)
            }
            Ok(WatchEvent::Delete(listed)) => {
                let object = match listed {
                    Listed::Readable(object) => object,
                    Listed::Unreadable(unreadable) => SealedSecret {
                        metadata: unreadable.metadata,
                        spec: Default::default(),
                        status: None,
                    },
                };
                let uid = object.uid().unwrap_or_default();
                context.count_unreadable(context.unreadables(|u| u.forget(&uid)));
                Some(WatchEvent::Delete(object))
            }
            Ok(WatchEvent::Init) => {
                context.unreadables(Unreadables::relist_started);
                Some(WatchEvent::Init)
            }
            Ok(WatchEvent::InitDone) => {
                context.count_unreadable(context.unreadables(Unreadables::relist_done));
                Some(WatchEvent::InitDone)
            }
            Err(e) => return future::ready(Some(Err(e))),
        };
        future::ready(out.map(Ok))
    })
}

fn readable(listed: Listed, context: &Arc<Context>) -> Option<SealedSecret> {
    match listed {
        Listed::Readable(object) => {
            let uid = object.uid().unwrap_or_default();
            context.count_unreadable(context.unreadables(|u| u.forget(&uid)));
            Some(object)
        }
        Listed::Unreadable(unreadable) => {
            if context.unreadables(|u| u.observe(&unreadable.metadata)) {
                context.count_unreadable(unreadable.metadata.namespace.clone());
                report_unreadable(unreadable, context);
            }
            None
        }
    }
}

fn report_unreadable(unreadable: Unreadable, context: &Arc<Context>) {
    let namespace = unreadable.metadata.namespace.clone().unwrap_or_default();
    let name = unreadable.metadata.name.clone().unwrap_or_default();
    tracing::warn!(%namespace, %name, problem = %unreadable.problem, "cannot read SealedSecret; skipped until it changes");
    let note = format!("cannot read SealedSecret: {}", unreadable.problem);
    let recorder = context.recorder.clone();
    let regarding = Listed::Unreadable(unreadable).object_ref(&());
    tokio::spawn(async move {
        if let Err(e) = recorder
            .publish(
                EventType::Warning,
                "ErrDecodeFailed",
                &note,
                "Unseal",
                regarding,
            )
            .await
        {
            tracing::warn!(%namespace, %name, error = %Error::from_kube("publish event", &e), "cannot publish event");
        }
    });
}

/// Drops what reconciling never reads, before the object enters the watch cache: the API
/// server's field-ownership records, kubectl's copy of the whole applied object, and the
/// template's name and namespace (the Secret always gets the SealedSecret's). A template
/// metadata left empty goes entirely: unsealing reads absent and empty alike.
fn slim_for_cache(object: &mut SealedSecret) {
    object.metadata.managed_fields = None;
    if let Some(annotations) = object.metadata.annotations.as_mut() {
        for annotation in seal::manifest::LAST_APPLIED_ANNOTATIONS {
            annotations.remove(annotation);
        }
    }
    let template = &mut object.spec.template.metadata;
    if let Some(metadata) = template.as_mut() {
        metadata.name = None;
        metadata.namespace = None;
        if **metadata == Default::default() {
            *template = None;
        }
    }
}

/// SealedSecret events that should reconcile: new objects and spec changes (a new
/// `generation`); status-only and metadata-only updates are ignored. Deletions clean up,
/// including those a relist reveals (objects deleted while the watch was down get no event).
fn sealed_trigger(
    events: impl Stream<Item = Result<WatchEvent<SealedSecret>, watcher::Error>> + Send + 'static,
    cache: Store<SealedSecret>,
    context: Arc<Context>,
) -> impl Stream<Item = Result<SealedSecret, watcher::Error>> + Send + 'static {
    // The cache as it was when a relist began: the reflector swaps in the new list only at
    // its end, so what is missing then has been deleted meanwhile.
    let mut before_relist: Vec<Arc<SealedSecret>> = Vec::new();
    events.filter_map(move |event| {
        let out = match event {
            Ok(WatchEvent::Apply(object) | WatchEvent::InitApply(object)) => {
                let generation = GenerationSeen::Seen(object.metadata.generation);
                let changed = context.remember(&object.uid().unwrap_or_default(), |m| {
                    std::mem::replace(&mut m.generation_seen, generation) != generation
                });
                changed.then_some(Ok(object))
            }
            Ok(WatchEvent::Delete(object)) => {
                on_deleted(&object, &context);
                None
            }
            Ok(WatchEvent::Init) => {
                before_relist = cache.state();
                None
            }
            Ok(WatchEvent::InitDone) => {
                for object in std::mem::take(&mut before_relist) {
                    match cache.get(&ObjectRef::from(object.as_ref())) {
                        // Still there, but unreadable now: not deleted.
                        None if context
                            .unreadables(|u| u.contains(&object.uid().unwrap_or_default())) => {}
                        None => on_deleted(&object, &context),
                        // Deleted and created again under the same name: its series, and
                        // its Secret, belong to the new object now.
                        Some(now) if now.metadata.uid != object.metadata.uid => {
                            context.forget(&object.uid().unwrap_or_default());
                        }
                        Some(_) => {}
                    }
                }
                None
            }
            Err(e) => Some(Err(e)),
        };
        future::ready(out)
    })
}

fn on_deleted(object: &SealedSecret, context: &Arc<Context>) {
    let namespace = object.namespace().unwrap_or_default();
    let name = object.name_any();
    context.metrics.unseal_requests.inc();
    context
        .metrics
        .forget_condition(&namespace, &name, &instance_label(object));
    context.forget(&object.uid().unwrap_or_default());
    if context.config.old_gc_behavior {
        let api: Api<Secret> = Api::namespaced(context.client.clone(), &namespace);
        let sealed_uid = object.uid().unwrap_or_default();
        tokio::spawn(async move {
            let secret = match api.get_opt(&name).await {
                Ok(Some(secret)) => secret,
                Ok(None) => return,
                Err(e) => {
                    tracing::warn!(%namespace, %name, error = %Error::from_kube("get Secret", &e), "cannot delete Secret");
                    return;
                }
            };
            if !deletable_with(&secret, &sealed_uid) {
                tracing::info!(%namespace, %name, "SealedSecret has gone; its Secret is not its own, kept");
                return;
            }
            tracing::info!(%namespace, %name, "SealedSecret has gone, deleting Secret");
            // Only the Secret just looked at, not one created meanwhile under the same name.
            let params = DeleteParams {
                preconditions: Some(Preconditions {
                    uid: secret.metadata.uid.clone(),
                    resource_version: None,
                }),
                ..DeleteParams::default()
            };
            if let Err(e) = api.delete(&name, &params).await
                && !matches!(&e, kube::Error::Api(s) if s.code == 404 || s.code == 409)
            {
                tracing::warn!(%namespace, %name, error = %Error::from_kube("delete Secret", &e), "cannot delete Secret");
            }
        });
    }
}

/// Reconcile everything when the keys change (a restored key may open what failed before),
/// and on the slow resync.
fn resync_triggers(
    keys: &SharedKeys,
    period: Option<Duration>,
) -> impl Stream<Item = ()> + Send + 'static {
    let key_changes = futures::stream::unfold(keys.subscribe(), |mut rx| async move {
        rx.changed().await.ok().map(|()| ((), rx))
    });
    let ticks = futures::stream::unfold(period, |period| async move {
        match period.filter(|p| !p.is_zero()) {
            Some(p) => {
                tokio::time::sleep(p).await;
                Some(((), period))
            }
            None => future::pending().await,
        }
    });
    futures::stream::select(key_changes, ticks)
}

fn error_policy(object: Arc<SealedSecret>, error: &Error, context: Arc<Context>) -> Action {
    let failures = context.remember(&object.uid().unwrap_or_default(), |m| {
        m.failures = m.failures.saturating_add(1);
        m.failures
    });
    let backoff = Duration::from_millis(500)
        .saturating_mul(1 << failures.min(10))
        .min(Duration::from_secs(300));
    tracing::warn!(
        namespace = %object.namespace().unwrap_or_default(),
        name = %object.name_any(),
        error = %error,
        retry_in = ?backoff,
        "reconcile failed"
    );
    Action::requeue(backoff)
}

/// Whether the API server refused a write for what it holds (bad request, invalid, too large)
/// rather than for its own state (conflicts, throttling, outages).
fn is_refusal(err: &kube::Error) -> bool {
    matches!(err, kube::Error::Api(status) if matches!(status.code, 400 | 413 | 422))
}

/// The Secret of a SealedSecret's name, as far as known before deciding.
enum Existing {
    /// From the watch cache.
    Cached(Option<Arc<CachedSecret>>),
    /// Read from the API server (`--skip-recreate` keeps no cache).
    Live(Option<Box<PlainSecret>>),
}

impl Existing {
    fn resource_version(&self) -> Option<String> {
        match self {
            Self::Cached(cached) => cached.as_ref()?.metadata.resource_version.clone(),
            Self::Live(live) => live.as_ref()?.metadata.resource_version.clone(),
        }
    }
}

/// Nothing more to do until something changes: the periodic resync is a separate trigger
/// (`reconcile_all_on`), so no per-object timer is kept.
fn settle(_context: &Context) -> Action {
    Action::await_change()
}

async fn reconcile(object: Arc<SealedSecret>, context: Arc<Context>) -> Result<Action, Error> {
    let started = Instant::now();
    let namespace = object.namespace().unwrap_or_default();
    let name = object.name_any();
    let uid = object.uid().unwrap_or_default();
    context.metrics.unseal_requests.inc();

    let secret_api: Api<Secret> = Api::namespaced(context.client.clone(), &namespace);
    let get_live = async || {
        secret_api
            .get_opt(&name)
            .await
            .map(|live| live.map(PlainSecret::new))
            .map_err(|e| Error::from_kube("get Secret", &e))
    };
    let existing = match &context.secrets {
        Some(store) => {
            // Until the cache is filled, "not in the cache" would wrongly mean "create".
            context.secrets_ready.clone().await;
            Existing::Cached(store.get(&ObjectRef::new(&name).within(&namespace)))
        }
        None => Existing::Live(get_live().await?.map(Box::new)),
    };
    // Keys load alongside the caches: unsealing before they are in would report "no key
    // could decrypt" (a Warning event and a failed status, then the opposite) for good objects.
    if context.keys.epoch() == 0 {
        let _ = context.keys.subscribe().wait_for(|epoch| *epoch > 0).await;
    }
    let epoch = context.keys.epoch();
    let inputs = Inputs {
        generation: object.metadata.generation,
        secret_version: existing.resource_version(),
        key_epoch: epoch,
    };
    let (settled, spec_synced) = context.remember(&uid, |m| {
        let synced = m.synced.as_ref();
        (
            synced == Some(&inputs),
            synced.is_some_and(|synced| synced.generation == inputs.generation),
        )
    });
    if settled {
        return Ok(settle(&context));
    }
    let others = if spec_synced {
        OthersMetadata::Keep
    } else {
        OthersMetadata::Replace
    };

    let sealed = object.to_sealed().map_err(Error::Decode)?;
    let keys = context.keys.get();
    let hint = context.remember(&uid, |m| m.key_hint.clone()).or_else(|| {
        context
            .last_key
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    });
    let accept_v1 = context.config.accept_deprecated_v1_data;
    let template_limits = context.config.template_limits.clone();
    // RSA work runs on the blocking pool so that several objects use several cores. Template
    // rendering stops itself at its deadline, so the task always ends.
    let (sealed, desired) = tokio::task::spawn_blocking(move || {
        let desired = desired_secret(
            &sealed,
            &keys.keyring,
            &DecideOptions {
                accept_deprecated_v1_data: accept_v1,
                key_hint: hint.as_deref(),
                template_limits: Some(&template_limits),
            },
        );
        (sealed, desired)
    })
    .await
    .map_err(|e| Error::Api(format!("reconcile task failed: {e}")))?;
    let action = match desired {
        Err(failure) => Err(failure),
        Ok(desired) => {
            if let Some(key) = desired.key {
                let key = context.shared_key(key);
                context.remember(&uid, |m| m.key_hint = Some(key));
            }
            match existing {
                Existing::Live(live) => apply_to_existing(
                    &sealed,
                    desired.secret,
                    live.as_deref().map(|l| &**l),
                    others,
                ),
                Existing::Cached(None) => Ok(SecretAction::Create(desired.secret)),
                Existing::Cached(Some(cached)) => {
                    match cached.settled_outcome(&sealed, &desired.secret, others) {
                        Some(outcome) => outcome,
                        // A write may be due: decide on the live Secret.
                        None => apply_to_existing(
                            &sealed,
                            desired.secret,
                            get_live().await?.as_deref(),
                            others,
                        ),
                    }
                }
            }
        }
    };

    let mut written = Written::Nothing;
    // The API server refused the Secret itself (invalid, too large): writing it again changes
    // nothing until the SealedSecret does.
    let mut refused = false;
    let outcome = match action {
        Ok(SecretAction::Create(secret)) => {
            match secret_api.create(&PostParams::default(), &secret).await {
                Ok(created) => {
                    written = Written::Secret {
                        resource_version: PlainSecret::new(created)
                            .metadata
                            .resource_version
                            .clone(),
                    };
                    Ok(())
                }
                // The cache was behind: let the next event settle it.
                Err(kube::Error::Api(s)) if s.code == 409 => {
                    return Err(Error::Api(format!("create Secret: {} (409)", s.reason)));
                }
                Err(e) => {
                    refused = is_refusal(&e);
                    Err(Failure::Write(
                        Error::from_kube("create Secret", &e).to_string(),
                    ))
                }
            }
        }
        Ok(SecretAction::Update(secret)) => {
            match secret_api
                .replace(&name, &PostParams::default(), &secret)
                .await
            {
                Ok(updated) => {
                    written = Written::Secret {
                        resource_version: PlainSecret::new(updated)
                            .metadata
                            .resource_version
                            .clone(),
                    };
                    Ok(())
                }
                Err(kube::Error::Api(s)) if s.code == 409 => {
                    return Err(Error::Api(format!("update Secret: {} (409)", s.reason)));
                }
                // An immutable Secret was caught before the write; what is left is a field that
                // can never change, such as `type`: the API server's words say which.
                Err(kube::Error::Api(s))
                    if s.code == 422 && s.message.contains("field is immutable") =>
                {
                    let message: String = s.message.chars().take(300).collect();
                    Err(Failure::Immutable(format!(
                        "Error updating {namespace}/{name}: {message}"
                    )))
                }
                Err(e) => {
                    refused = is_refusal(&e);
                    Err(Failure::Write(
                        Error::from_kube("update Secret", &e).to_string(),
                    ))
                }
            }
        }
        Ok(SecretAction::Unchanged) => Ok(()),
        Err(failure) => Err(failure),
    };

    let instance = instance_label(&object);
    if let Err(failure) = &outcome {
        context
            .metrics
            .count_error(failure.metric_reason(), &namespace);
    }
    // The outcome last reported: remembered, or read back from the live status after a restart.
    let previously = context.remember(&uid, |m| m.reported).or_else(|| {
        object
            .status
            .as_ref()
            .and_then(|status| OutcomeKey::from_status(status, object.metadata.generation))
    });
    let report = report(&outcome, &written, previously);
    if let Some(event) = &report.event
        && let Err(e) = context
            .recorder
            .publish(
                event.type_,
                event.reason,
                &event.note,
                "Unseal",
                object.object_ref(&()),
            )
            .await
    {
        tracing::warn!(%namespace, %name, error = %Error::from_kube("publish event", &e), "cannot publish event");
    }
    context.remember(&uid, |m| m.reported = Some(report.key));

    if context.config.update_status
        && let Some(status) = next_status(
            object.status.as_ref(),
            object.metadata.generation,
            &report.observed(),
            jiff::Timestamp::now(),
        )
    {
        let api: Api<SealedSecret> = Api::namespaced(context.client.clone(), &namespace);
        if let Err(e) = api
            .patch_status(
                &name,
                &PatchParams::default(),
                &Patch::Merge(status_patch(&status)),
            )
            .await
        {
            if matches!(&e, kube::Error::Api(s) if s.code == 404) {
                return Ok(Action::await_change());
            }
            context.metrics.count_error("status", &namespace);
            return Err(Error::from_kube("patch status", &e));
        }
    }
    context
        .metrics
        .observe_condition(&namespace, &name, &instance, outcome.is_ok());
    context
        .metrics
        .reconcile_duration
        .observe(started.elapsed().as_secs_f64());

    match outcome {
        Ok(()) => {
            // Remember the inputs that gave a good Secret, with the version the cache will
            // show next, so that the echo of our own write costs no RSA work.
            let secret_version = match written {
                Written::Secret { resource_version } => resource_version,
                Written::Nothing => inputs.secret_version,
            };
            context.remember(&uid, |m| {
                m.failures = 0;
                m.synced = Some(Inputs {
                    secret_version,
                    ..inputs
                });
            });
            tracing::info!(%namespace, %name, "unsealed");
            Ok(settle(&context))
        }
        Err(Failure::Write(message)) if !refused => {
            context.remember(&uid, |m| m.synced = None);
            Err(Error::Api(message))
        }
        Err(failure) => {
            context.remember(&uid, |m| m.synced = None);
            tracing::warn!(%namespace, %name, reason = failure.event_reason(), message = %failure.event_message(), "cannot unseal");
            // Permanent: retried when the object, its Secret or the keys change, or on resync.
            Ok(settle(&context))
        }
    }
}

#[cfg(test)]
mod tests {
    use kube::runtime::utils::Backoff as _;

    use super::*;

    #[test]
    fn watch_backoff_is_capped_at_two_seconds_and_resets() {
        let mut backoff = watch_backoff();
        let delays: Vec<Duration> = backoff.by_ref().take(5).collect();
        assert_eq!(
            delays,
            [500, 1000, 2000, 2000, 2000].map(Duration::from_millis)
        );
        backoff.reset();
        assert_eq!(backoff.next(), Some(Duration::from_millis(500)));
    }
}
