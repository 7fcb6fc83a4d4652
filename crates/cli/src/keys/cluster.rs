//! The controller's namespace as a key store, through the user's kubeconfig: key Secrets
//! labelled `sealedsecrets.bitnami.com/sealed-secrets-key` (plus the legacy unlabelled
//! `sealed-secrets-key`), created, annotated and relabelled, never deleted.

use std::time::SystemTime;

use anyhow::{Context, Result, anyhow};
use k8s_openapi::api::core::v1::Secret as K8sSecret;
use kube::api::{ListParams, Patch, PatchParams, PostParams};
use kube::{Api, Client};
use seal::key_record::{KeyOrder, KeyRecord, KeySecretFields, KeyStatus};
use seal::{ObjectMeta, SEALING_KEY_LABEL, Secret, SecretBytes};
use zeroize::Zeroize as _;

use super::stored::{Loaded, StoredKey, exportable};
use crate::kubeconfig::{self, KubeArgs, describe};

const KEY_PREFIX: &str = seal::key_record::LEGACY_KEY_SECRET_NAME;

/// How to reach the cluster.
#[derive(Debug, Clone, clap::Args)]
pub struct ClusterArgs {
    /// How to reach the API server: the same flags as the sealing modes.
    #[command(flatten)]
    pub kube: KubeArgs,
    /// Namespace of the controller and its key Secrets.
    #[arg(
        long,
        env = "SEALED_SECRETS_CONTROLLER_NAMESPACE",
        default_value = "kube-system",
        value_name = "NAMESPACE"
    )]
    pub controller_namespace: String,
    /// Which time orders the controller's keys (its own --key-order-priority): CertNotBefore
    /// or SecretCreationTimestamp. Decides which key `keys list` shows as sealing.
    #[arg(
        long,
        env = "SEALED_SECRETS_KEY_ORDER_PRIORITY",
        default_value = "CertNotBefore",
        value_name = "ORDER"
    )]
    pub key_order_priority: KeyOrder,
}

/// A connected client for the controller's namespace. Owns a current-thread runtime: callers
/// stay synchronous.
pub struct ClusterStore {
    runtime: tokio::runtime::Runtime,
    client: Client,
    namespace: String,
    order: KeyOrder,
}

impl ClusterStore {
    /// Connects with the kubeconfig.
    pub fn connect(args: &ClusterArgs) -> Result<Self> {
        let runtime = kubeconfig::runtime()?;
        let client = runtime.block_on(async {
            let config = kubeconfig::client_config(&args.kube, None)
                .await
                .context("cannot reach the cluster (or use --keyring DIR for a local keyring)")?;
            kubeconfig::client(config)
        })?;
        Ok(Self {
            runtime,
            client,
            namespace: args.controller_namespace.clone(),
            order: args.key_order_priority,
        })
    }

    /// The controller's namespace.
    pub fn namespace(&self) -> &str {
        &self.namespace
    }

    fn api(&self) -> Api<K8sSecret> {
        Api::namespaced(self.client.clone(), &self.namespace)
    }

    /// Every key Secret, as stored keys, newest first by the controller's key order; unusable
    /// ones become warnings.
    pub fn load(&self) -> Result<Loaded> {
        let api = self.api();
        let (list, legacy) = self.runtime.block_on(async {
            let list = api
                .list(&ListParams::default().labels(SEALING_KEY_LABEL))
                .await
                .map_err(|e| {
                    anyhow!(
                        "cannot list key Secrets in namespace {}: {}",
                        self.namespace,
                        describe(&e)
                    )
                })?;
            let legacy = api.get_opt(KEY_PREFIX).await.map_err(|e| {
                anyhow!(
                    "cannot read Secret {}/{KEY_PREFIX}: {}",
                    self.namespace,
                    describe(&e)
                )
            })?;
            anyhow::Ok((list, legacy))
        })?;
        let mut loaded = Loaded::default();
        let mut secrets = list.items;
        if let Some(legacy) = legacy
            && !secrets
                .iter()
                .any(|s| s.metadata.name.as_deref() == Some(KEY_PREFIX))
        {
            secrets.push(legacy);
        }
        for k8s in secrets {
            let name = k8s.metadata.name.clone().unwrap_or_default();
            match stored_key(k8s) {
                Ok(key) => loaded.keys.push(key),
                Err(e) => loaded
                    .warnings
                    .push(format!("Secret {}/{name}: {e:#}", self.namespace)),
            }
        }
        loaded.sort(self.order);
        Ok(loaded)
    }

    /// Sets one annotation on a Secret (merge patch).
    pub fn annotate(&self, name: &str, key: &str, value: &str) -> Result<()> {
        let patch = serde_json::json!({"metadata": {"annotations": {key: value}}});
        self.patch(name, &patch)
    }

    /// Sets the sealing-key label of a Secret (merge patch).
    pub fn relabel(&self, name: &str, value: &str) -> Result<()> {
        let patch = serde_json::json!({"metadata": {"labels": {SEALING_KEY_LABEL: value}}});
        self.patch(name, &patch)
    }

    fn patch(&self, name: &str, patch: &serde_json::Value) -> Result<()> {
        let api = self.api();
        self.runtime
            .block_on(api.patch(name, &PatchParams::default(), &Patch::Merge(patch)))
            .map_err(|e| {
                anyhow!(
                    "cannot update Secret {}/{name}: {}",
                    self.namespace,
                    describe(&e)
                )
            })?;
        Ok(())
    }

    /// Creates a key Secret in the controller's namespace, under its own name, or under a
    /// generated `sealed-secrets-key…` name when that one is taken. Returns the name.
    pub fn create(&self, secret: &Secret) -> Result<String> {
        let mut k8s = to_k8s(secret)?;
        k8s.metadata.namespace = Some(self.namespace.clone());
        if k8s.metadata.name.is_none() {
            k8s.metadata.generate_name = Some(KEY_PREFIX.into());
        }
        let api = self.api();
        let created = self.runtime.block_on(async {
            match api.create(&PostParams::default(), &k8s).await {
                Err(kube::Error::Api(status)) if status.code == 409 => {
                    k8s.metadata.name = None;
                    k8s.metadata.generate_name = Some(KEY_PREFIX.into());
                    k8s.metadata
                        .labels
                        .get_or_insert_default()
                        .entry(SEALING_KEY_LABEL.into())
                        .or_insert_with(|| KeyStatus::Active.label().into());
                    api.create(&PostParams::default(), &k8s).await
                }
                other => other,
            }
        });
        let created = created.map_err(|e| {
            anyhow!(
                "cannot create a key Secret in namespace {}: {}",
                self.namespace,
                describe(&e)
            )
        })?;
        Ok(created.metadata.name.unwrap_or_default())
    }
}

fn to_k8s(secret: &Secret) -> Result<K8sSecret> {
    let value = serde_json::to_value(secret).context("cannot encode the key Secret")?;
    let mut k8s: K8sSecret =
        serde_json::from_value(value).map_err(|_| anyhow!("cannot encode the key Secret"))?;
    k8s.metadata.resource_version = None;
    k8s.metadata.uid = None;
    k8s.metadata.creation_timestamp = None;
    k8s.metadata.managed_fields = None;
    Ok(k8s)
}

/// Reads a listed key Secret with the one key-Secret model. Its values are copied once into
/// wiping storage and the client's copies are wiped.
fn stored_key(mut k8s: K8sSecret) -> Result<StoredKey> {
    let mut data: std::collections::BTreeMap<String, SecretBytes> = Default::default();
    for (name, value) in k8s.data.iter_mut().flatten() {
        data.insert(name.clone(), SecretBytes::from_slice(&value.0));
        value.0.zeroize();
    }
    let meta = k8s.metadata;
    let name = meta.name.unwrap_or_default();
    let labels = meta.labels.unwrap_or_default();
    let annotations = meta.annotations.unwrap_or_default();
    let record = KeyRecord::from_fields(KeySecretFields {
        name: &name,
        label: labels.get(SEALING_KEY_LABEL).map(String::as_str),
        annotations: Some(&annotations),
        created: meta.creation_timestamp.map(|t| SystemTime::from(t.0)),
        tls_key: data.get("tls.key").map(SecretBytes::expose),
        tls_crt: data.get("tls.crt").map(SecretBytes::expose),
    })?;
    let mut secret = Secret::new(ObjectMeta {
        name: Some(name),
        namespace: meta.namespace,
        labels,
        annotations,
        ..ObjectMeta::default()
    });
    secret.type_ = k8s.type_;
    secret.immutable = k8s.immutable;
    secret.data = data;
    Ok(StoredKey {
        record,
        secret: exportable(secret),
    })
}
