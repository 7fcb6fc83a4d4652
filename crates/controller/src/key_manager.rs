//! The I/O around [`key_set`](crate::key_set): a watcher that keeps the shared key set equal to the
//! key Secrets (every replica), and a renewer that writes new keys when due (leader only).

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use futures::StreamExt;
use k8s_openapi::ByteString;
use k8s_openapi::api::core::v1::Secret;
use kube::api::{Api, PostParams};
use kube::runtime::reflector::{self, ObjectRef};
use kube::runtime::{WatchStreamExt, watcher};
use kube::{Client, Resource};
use seal::{Certificate, Fingerprint, KeyStatus, PrivateKey, SEALING_KEY_LABEL, TLS_SECRET_TYPE};
use tokio::sync::Notify;
use zeroize::Zeroize as _;

use crate::config::KeyValues;
use crate::events::{EventSink, EventType};
use crate::key_set::{KeyOrder, KeySecret, KeySet, Renewal, SharedKeys, next_renewal};
use crate::metrics::Metrics;
use crate::reconcile::run::watch_backoff;

/// Key settings (from the flags).
#[derive(Debug, Clone)]
pub struct KeyConfig {
    /// The controller namespace, where key Secrets live.
    pub namespace: String,
    /// `generateName` of new key Secrets and name of the legacy key Secret.
    pub key_prefix: String,
    /// Bits of new keys.
    pub key_size: usize,
    /// Validity of new certificates.
    pub key_ttl: Duration,
    /// Common name of new certificates.
    pub my_cn: String,
    /// Renewal period; `None` disables renewal.
    pub renew_period: Option<Duration>,
    /// Renew at once when the newest key predates this.
    pub cutoff: Option<SystemTime>,
    /// Which time orders keys.
    pub order: KeyOrder,
    /// Extra labels for new key Secrets.
    pub labels: KeyValues,
    /// Extra annotations for new key Secrets.
    pub annotations: KeyValues,
}

/// Keeps `shared` equal to the key Secrets: labelled ones (any label value) and the legacy
/// Secret named exactly `key_prefix`. Keys added, changed, relabelled or removed take effect
/// at once. Malformed key Secrets are logged, counted and reported as events, never fatal.
pub async fn watch_keys(
    client: Client,
    config: KeyConfig,
    shared: Arc<SharedKeys>,
    metrics: Arc<Metrics>,
    recorder: EventSink,
) {
    let api: Api<KeySecret> = Api::namespaced(client, &config.namespace);
    let (labelled, labelled_writer) = reflector::store::<KeySecret>();
    let (legacy, legacy_writer) = reflector::store::<KeySecret>();
    let labelled_events = watcher::watcher(
        api.clone(),
        watcher::Config::default().labels(SEALING_KEY_LABEL),
    )
    .backoff(watch_backoff())
    .reflect(labelled_writer)
    .map(|_| ());
    let legacy_events = watcher::watcher(
        api,
        watcher::Config::default().fields(&format!("metadata.name={}", config.key_prefix)),
    )
    .backoff(watch_backoff())
    .reflect(legacy_writer)
    .map(|_| ());
    let mut events = std::pin::pin!(futures::stream::select(labelled_events, legacy_events));
    let mut reported_malformed: Vec<String> = Vec::new();
    while events.next().await.is_some() {
        if !is_ready(&labelled) || !is_ready(&legacy) {
            continue;
        }
        let secrets: Vec<Arc<KeySecret>> =
            labelled.state().into_iter().chain(legacy.state()).collect();
        let next = KeySet::from_secrets(
            secrets.iter().map(AsRef::as_ref),
            &config.key_prefix,
            config.order,
        );
        let current = shared.get();
        if next.same_keys(&current) && shared.epoch() > 0 {
            continue;
        }
        for bad in &next.malformed {
            if reported_malformed.contains(&bad.secret_name) {
                continue;
            }
            tracing::error!(secret = %bad.secret_name, reason = %bad.reason, "skipping malformed key Secret");
            let reference = labelled
                .get(&ObjectRef::new(&bad.secret_name).within(&config.namespace))
                .or_else(|| legacy.get(&ObjectRef::new(&bad.secret_name).within(&config.namespace)))
                .map(|s| s.object_ref(&()));
            if let Some(reference) = reference {
                let note = format!("key Secret skipped: {}", bad.reason);
                let _ = recorder
                    .publish(
                        EventType::Warning,
                        "ErrKeyMalformed",
                        &note,
                        "LoadKey",
                        reference,
                    )
                    .await;
            }
        }
        reported_malformed = next
            .malformed
            .iter()
            .map(|m| m.secret_name.clone())
            .collect();
        let old_sealing = current.sealing_key().map(|k| k.fingerprint.clone());
        let new_sealing = next.sealing_key().map(|k| k.fingerprint.clone());
        if old_sealing != new_sealing
            && let Some(cert) = next.sealing_certificate()
        {
            // Operators seal offline with this; upstream prints it too.
            tracing::info!(
                fingerprint = %new_sealing.clone().map(|f| f.to_string()).unwrap_or_default(),
                keys = next.info.len(),
                "sealing key; certificate follows\n{}",
                cert.to_pem()
            );
        }
        metrics.observe_keys(&next, config.renew_period, SystemTime::now());
        shared.set(next);
    }
}

fn is_ready<K: Resource + Clone>(store: &reflector::Store<K>) -> bool
where
    K::DynamicType: std::hash::Hash + Eq + Clone,
{
    futures::FutureExt::now_or_never(store.wait_until_ready()).is_some()
}

/// Writes a new key when one is due, when `now` is notified (SIGUSR1), or when an operator
/// asks through the renewal annotation. Runs only in the leader; never deletes a key.
pub async fn renew_keys(
    client: Client,
    config: KeyConfig,
    shared: Arc<SharedKeys>,
    metrics: Arc<Metrics>,
    now: Arc<Notify>,
) {
    let api: Api<Secret> = Api::namespaced(client, &config.namespace);
    let mut changes = shared.subscribe();
    // Keys are known once the watcher published its first set.
    while shared.epoch() == 0 {
        if changes.changed().await.is_err() {
            return;
        }
    }
    loop {
        let keys = shared.get();
        let plan = next_renewal(
            keys.sealing_key().map(|k| k.ordering_time),
            SystemTime::now(),
            config.renew_period,
            config.cutoff,
            keys.renewal_requested_at,
        );
        metrics.observe_keys(&keys, config.renew_period, SystemTime::now());
        let due = match plan {
            Renewal::NowNoKey | Renewal::NowCutoff | Renewal::NowDue | Renewal::NowRequested => {
                true
            }
            Renewal::After(wait) => tokio::select! {
                () = tokio::time::sleep(wait) => true,
                () = now.notified() => true,
                _ = changes.changed() => false,
            },
            Renewal::Never => tokio::select! {
                () = now.notified() => true,
                _ = changes.changed() => false,
            },
        };
        if !due {
            continue;
        }
        match create_key(&api, &config).await {
            Ok(fingerprint) => {
                tracing::info!(%fingerprint, reason = ?plan, "new sealing key written");
                // Wait for the watcher to load it, so that it is not made twice.
                let loaded = tokio::time::timeout(Duration::from_secs(30), async {
                    while shared.get().keyring.get(&fingerprint).is_none() {
                        if changes.changed().await.is_err() {
                            return;
                        }
                    }
                })
                .await;
                if loaded.is_err() {
                    tracing::warn!(%fingerprint, "new key not seen by the watcher after 30s");
                }
            }
            Err(e) => {
                tracing::error!(error = %e, "cannot write a new key; retrying in 10s");
                tokio::time::sleep(Duration::from_secs(10)).await;
            }
        }
    }
}

async fn create_key(api: &Api<Secret>, config: &KeyConfig) -> anyhow::Result<Fingerprint> {
    let bits = config.key_size;
    let cn = config.my_cn.clone();
    let ttl = config.key_ttl;
    let (key, cert) = tokio::task::spawn_blocking(move || -> anyhow::Result<_> {
        let key = PrivateKey::generate(bits)?;
        let cert = Certificate::self_signed(&key, &cn, ttl)?;
        Ok((key, cert))
    })
    .await??;
    // The Secret is built in the client's type directly (no detour through an unwiped JSON
    // value), and its copies of the key are wiped once it is sent.
    let mut labels = config.labels.clone();
    labels.insert(SEALING_KEY_LABEL.into(), KeyStatus::Active.label().into());
    let mut secret = Secret {
        metadata: k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta {
            generate_name: Some(config.key_prefix.clone()),
            namespace: Some(config.namespace.clone()),
            labels: Some(labels),
            annotations: Some(config.annotations.clone()).filter(|a| !a.is_empty()),
            ..Default::default()
        },
        type_: Some(TLS_SECRET_TYPE.into()),
        data: Some(
            [
                ("tls.crt", cert.to_pem().into_bytes()),
                ("tls.key", key.to_pkcs1_pem().as_bytes().to_vec()),
            ]
            .into_iter()
            .map(|(name, value)| (name.to_owned(), ByteString(value)))
            .collect(),
        ),
        ..Secret::default()
    };
    let created = api.create(&PostParams::default(), &secret).await;
    for value in secret.data.iter_mut().flat_map(|d| d.values_mut()) {
        value.0.zeroize();
    }
    created.map_err(|e| {
        anyhow::anyhow!(
            "create key Secret: {}",
            crate::reconcile::run::Error::from_kube_public(&e)
        )
    })?;
    Ok(key.fingerprint().clone())
}
