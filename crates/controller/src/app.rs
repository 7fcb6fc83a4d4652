//! Wiring: everything `sealed-secrets-controller` runs, as one function that tests can call
//! with a client of their own (the binary's `main` only parses flags and sets up logging).

use std::sync::Arc;

use anyhow::Context as _;
use kube::Client;
use tokio::sync::{Notify, watch};

use crate::config::Flags;
use crate::events::EventSink;
use crate::http::{ApiConfig, api_router, metrics_router};
use crate::key_manager::{KeyConfig, renew_keys, watch_keys};
use crate::key_set::SharedKeys;
use crate::leader::{LeaseConfig, lead};
use crate::metrics::Metrics;
use crate::reconcile::run::{self, ReconcileConfig, WatchScope};
use crate::serve::{ServerLimits, serve};

/// Where the controller runs.
#[derive(Debug, Clone)]
pub struct Environment {
    /// The controller namespace (keys, Lease).
    pub namespace: String,
    /// This replica's identity (Lease holder, event reporter instance).
    pub identity: String,
}

impl Environment {
    /// From the pod: `$POD_NAMESPACE`, else the service account's namespace, else `default`;
    /// `$POD_NAME`, else the host name.
    #[must_use]
    pub fn from_pod() -> Self {
        Self {
            namespace: controller_namespace(),
            identity: identity(),
        }
    }
}

/// `$POD_NAMESPACE`, else the service account's namespace, else `default`.
fn controller_namespace() -> String {
    std::env::var("POD_NAMESPACE")
        .ok()
        .filter(|ns| !ns.is_empty())
        .or_else(|| {
            std::fs::read_to_string("/var/run/secrets/kubernetes.io/serviceaccount/namespace")
                .ok()
                .map(|ns| ns.trim().to_owned())
                .filter(|ns| !ns.is_empty())
        })
        .unwrap_or_else(|| "default".into())
}

fn identity() -> String {
    std::env::var("POD_NAME")
        .ok()
        .filter(|n| !n.is_empty())
        .or_else(|| {
            std::fs::read_to_string("/etc/hostname")
                .ok()
                .map(|h| h.trim().to_owned())
        })
        .filter(|n| !n.is_empty())
        .unwrap_or_else(|| format!("sealed-secrets-controller-{}", std::process::id()))
}

/// Where to watch SealedSecrets: everywhere; or, with `--all-namespaces=false` or
/// `--additional-namespaces`, the controller namespace and the listed ones, each once
/// (upstream de-duplicates the list and skips its own namespace; a namespace watched twice
/// would reconcile its objects twice).
fn scopes(flags: &Flags, namespace: &str) -> Vec<WatchScope> {
    let additional: Vec<&str> = flags
        .additional_namespaces
        .iter()
        .map(|ns| ns.trim())
        .filter(|ns| !ns.is_empty())
        .collect();
    if flags.all_namespaces && additional.is_empty() {
        return vec![WatchScope::AllNamespaces];
    }
    let mut namespaces = vec![namespace];
    for ns in additional {
        if !namespaces.contains(&ns) {
            namespaces.push(ns);
        }
    }
    namespaces
        .into_iter()
        .map(|ns| WatchScope::Namespace(ns.to_owned()))
        .collect()
}

/// Runs the controller until `shutdown` turns true: key watcher and HTTP servers in every
/// replica; reconcile and key renewal in the leader. `renew_now` asks for a key at once (SIGUSR1).
pub async fn run(
    flags: Flags,
    client: Client,
    environment: Environment,
    shutdown: watch::Receiver<bool>,
    renew_now: Arc<Notify>,
) -> anyhow::Result<()> {
    let Environment {
        namespace,
        identity,
    } = environment;
    tracing::info!(version = env!("CARGO_PKG_VERSION"), %namespace, %identity, "starting");

    let metrics = Arc::new(Metrics::new());
    let keys = Arc::new(SharedKeys::default());
    let recorder = EventSink::new(client.clone(), "sealed-secrets", &identity);

    let key_config = KeyConfig {
        namespace: namespace.clone(),
        key_prefix: flags.key_prefix.clone(),
        key_size: flags.key_size,
        key_ttl: flags.key_ttl,
        my_cn: flags.my_cn.clone(),
        renew_period: Some(flags.key_renew_period).filter(|p| !p.is_zero()),
        cutoff: flags.key_cutoff_time,
        order: flags.key_order_priority,
        labels: flags.privatekey_labels.clone(),
        annotations: flags.privatekey_annotations.clone(),
    };
    tokio::spawn(watch_keys(
        client.clone(),
        key_config.clone(),
        Arc::clone(&keys),
        Arc::clone(&metrics),
        recorder.clone(),
    ));

    let api = api_router(
        Arc::clone(&keys),
        Arc::clone(&metrics),
        ApiConfig {
            rate_limit: flags.rate_limit,
            rate_limit_burst: flags.rate_limit_burst,
            trusted_proxies: flags.trusted_proxies.clone(),
            max_items: flags.max_request_items,
            max_concurrent_work: usize::from(flags.max_concurrent_unseal_requests),
            timeout: flags.read_timeout.max(flags.write_timeout),
            ..ApiConfig::default()
        },
    );
    let limits = ServerLimits {
        max_connections: flags.max_connections as usize,
        header_read_timeout: flags.read_header_timeout,
        lifetime: flags.read_timeout + flags.write_timeout,
    };
    let servers = [
        (flags.listen_addr, api),
        (
            flags.listen_metrics_addr,
            metrics_router(Arc::clone(&metrics)),
        ),
    ];
    for (addr, router) in servers {
        let listener = tokio::net::TcpListener::bind(addr)
            .await
            .with_context(|| format!("cannot listen on {addr}"))?;
        let bound = listener.local_addr().unwrap_or(addr);
        tracing::info!(addr = %bound, "HTTP server listening");
        let mut stop = shutdown.clone();
        tokio::spawn(async move {
            serve(listener, router, limits, async move {
                let _ = stop.wait_for(|s| *s).await;
            })
            .await;
        });
    }

    let scopes = scopes(&flags, &namespace);
    let reconcile_config = ReconcileConfig {
        accept_deprecated_v1_data: flags.accept_deprecated_v1_data,
        update_status: flags.update_status,
        old_gc_behavior: flags.old_gc_behavior,
        skip_recreate: flags.skip_recreate,
        label_selector: Some(flags.label_selector.clone()).filter(|s| !s.is_empty()),
        workers: flags.workers.max(1),
        resync_period: Some(flags.resync_period).filter(|p| !p.is_zero()),
        template_limits: gotemplate::Limits {
            deadline: flags.template_deadline,
            ..gotemplate::Limits::default()
        },
    };
    let leader_work = {
        let keys = Arc::clone(&keys);
        let metrics = Arc::clone(&metrics);
        let identity = identity.clone();
        // `client` writes as the leader: with leader election, only while the lease holds.
        move |stop: watch::Receiver<bool>, client: Client| {
            let recorder = EventSink::new(client.clone(), "sealed-secrets", &identity);
            let renew = renew_keys(
                client.clone(),
                key_config.clone(),
                Arc::clone(&keys),
                Arc::clone(&metrics),
                Arc::clone(&renew_now),
            );
            let controllers = futures::future::join_all(scopes.iter().cloned().map(|scope| {
                let mut stop = stop.clone();
                run::run(
                    client.clone(),
                    scope,
                    Arc::clone(&keys),
                    Arc::clone(&metrics),
                    recorder.clone(),
                    reconcile_config.clone(),
                    async move {
                        let _ = stop.wait_for(|s| *s).await;
                    },
                )
            }));
            async move {
                tokio::select! {
                    () = renew => {}
                    _ = controllers => {}
                }
            }
        }
    };
    if flags.leader_elect {
        lead(
            client,
            LeaseConfig {
                namespace,
                name: flags.leader_elect_lease_name.clone(),
                identity,
                duration: flags.leader_elect_lease_duration,
            },
            shutdown,
            leader_work,
        )
        .await?;
    } else {
        let mut stop = shutdown.clone();
        tokio::select! {
            () = leader_work(shutdown, client) => {}
            _ = stop.wait_for(|s| *s) => {}
        }
    }
    tracing::info!("stopped");
    Ok(())
}

#[cfg(test)]
mod tests {
    use clap::Parser as _;

    use super::*;

    fn scopes_for(args: &[&str]) -> Vec<WatchScope> {
        let flags =
            Flags::try_parse_from(std::iter::once("controller").chain(args.iter().copied()))
                .expect("flags parse");
        scopes(&flags, "kube-system")
    }

    fn namespaces(names: &[&str]) -> Vec<WatchScope> {
        names
            .iter()
            .map(|n| WatchScope::Namespace((*n).to_owned()))
            .collect()
    }

    #[test]
    fn scopes_follow_upstream() {
        assert_eq!(scopes_for(&[]), vec![WatchScope::AllNamespaces]);
        assert_eq!(
            scopes_for(&["--additional-namespaces="]),
            vec![WatchScope::AllNamespaces]
        );
        assert_eq!(
            scopes_for(&["--all-namespaces=false"]),
            namespaces(&["kube-system"])
        );
        assert_eq!(
            scopes_for(&["--additional-namespaces=a,b"]),
            namespaces(&["kube-system", "a", "b"])
        );
        assert_eq!(
            scopes_for(&["--additional-namespaces=kube-system"]),
            namespaces(&["kube-system"])
        );
        assert_eq!(
            scopes_for(&[
                "--all-namespaces=false",
                "--additional-namespaces=a, kube-system,a,,b"
            ]),
            namespaces(&["kube-system", "a", "b"])
        );
    }
}
