//! `sealed-secrets-controller`: unseals SealedSecrets into Secrets inside the cluster.

use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context as _;
use clap::Parser;
use kube::Client;
use kube::runtime::events::{Recorder, Reporter};
use sealed_secrets_controller::config::Flags;
use sealed_secrets_controller::http::{ApiConfig, api_router, metrics_router};
use sealed_secrets_controller::key_manager::{KeyConfig, renew_keys, watch_keys};
use sealed_secrets_controller::keys::SharedKeys;
use sealed_secrets_controller::leader::{LeaseConfig, lead};
use sealed_secrets_controller::metrics::Metrics;
use sealed_secrets_controller::reconcile::run::{self, ReconcileConfig, Scope};
use tokio::sync::{Notify, watch};

fn main() -> ExitCode {
    let flags = Flags::parse();
    if flags.version {
        println!("controller version: {}", env!("CARGO_PKG_VERSION"));
        return ExitCode::SUCCESS;
    }
    init_logging(&flags);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("error: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(flags)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!("{e:#}");
            ExitCode::FAILURE
        }
    }
}

fn init_logging(flags: &Flags) {
    use tracing_subscriber::fmt::writer::MakeWriterExt;
    let level = match flags.log_level.to_ascii_uppercase().as_str() {
        "DEBUG" => tracing::Level::DEBUG,
        "WARN" | "WARNING" => tracing::Level::WARN,
        "ERROR" => tracing::Level::ERROR,
        _ => tracing::Level::INFO,
    };
    let filter = tracing_subscriber::filter::Targets::new()
        .with_default(tracing::Level::WARN)
        .with_target("sealed_secrets_controller", level)
        .with_target("kube_lease_manager", tracing::Level::WARN.max(level));
    let errors = std::io::stderr.with_max_level(tracing::Level::WARN);
    use tracing_subscriber::layer::SubscriberExt as _;
    use tracing_subscriber::util::SubscriberInitExt as _;
    let registry = tracing_subscriber::registry().with(filter);
    let result = match (flags.log_format.as_str(), flags.log_info_stdout) {
        ("json", true) => registry
            .with(
                tracing_subscriber::fmt::layer()
                    .json()
                    .with_writer(errors.or_else(std::io::stdout)),
            )
            .try_init(),
        ("json", false) => registry
            .with(
                tracing_subscriber::fmt::layer()
                    .json()
                    .with_writer(std::io::stderr),
            )
            .try_init(),
        (_, true) => registry
            .with(tracing_subscriber::fmt::layer().with_writer(errors.or_else(std::io::stdout)))
            .try_init(),
        (_, false) => registry
            .with(tracing_subscriber::fmt::layer().with_writer(std::io::stderr))
            .try_init(),
    };
    if let Err(e) = result {
        eprintln!("warning: logging not initialised: {e}");
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

async fn run(flags: Flags) -> anyhow::Result<()> {
    let client = Client::try_default()
        .await
        .context("cannot configure the Kubernetes client")?;
    let namespace = controller_namespace();
    let identity = identity();
    tracing::info!(version = env!("CARGO_PKG_VERSION"), %namespace, %identity, "starting");

    let metrics = Arc::new(Metrics::new());
    let keys = Arc::new(SharedKeys::default());
    let recorder = Recorder::new(
        client.clone(),
        Reporter {
            controller: "sealed-secrets".into(),
            instance: Some(identity.clone()),
        },
    );
    let (shutdown_tx, shutdown) = watch::channel(false);
    let renew_now = Arc::new(Notify::new());
    spawn_signal_handlers(shutdown_tx, Arc::clone(&renew_now))?;

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
            timeout: flags.read_timeout.max(flags.write_timeout),
            ..ApiConfig::default()
        },
    );
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
        tracing::info!(%addr, "HTTP server listening");
        let mut stop = shutdown.clone();
        tokio::spawn(async move {
            let served = axum::serve(listener, router)
                .with_graceful_shutdown(async move {
                    let _ = stop.wait_for(|s| *s).await;
                })
                .await;
            if let Err(e) = served {
                tracing::error!(%addr, error = %e, "HTTP server failed");
            }
        });
    }

    let scopes = if !flags.additional_namespaces.is_empty() {
        std::iter::once(namespace.clone())
            .chain(flags.additional_namespaces.iter().cloned())
            .map(Scope::Namespace)
            .collect()
    } else if flags.all_namespaces {
        vec![Scope::AllNamespaces]
    } else {
        vec![Scope::Namespace(namespace.clone())]
    };
    let reconcile_config = ReconcileConfig {
        accept_deprecated_v1_data: flags.accept_deprecated_v1_data,
        update_status: flags.update_status,
        old_gc_behavior: flags.old_gc_behavior,
        skip_recreate: flags.skip_recreate,
        label_selector: Some(flags.label_selector.clone()).filter(|s| !s.is_empty()),
        workers: flags.workers.max(1),
        resync_period: Some(flags.resync_period).filter(|p| !p.is_zero()),
    };
    let leader_work = {
        let client = client.clone();
        let keys = Arc::clone(&keys);
        let metrics = Arc::clone(&metrics);
        move |stop: watch::Receiver<bool>| {
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
            () = leader_work(shutdown) => {}
            _ = stop.wait_for(|s| *s) => {}
        }
    }
    tracing::info!("stopped");
    Ok(())
}

fn spawn_signal_handlers(
    shutdown: watch::Sender<bool>,
    renew_now: Arc<Notify>,
) -> anyhow::Result<()> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut term = signal(SignalKind::terminate())?;
    let mut interrupt = signal(SignalKind::interrupt())?;
    let mut user1 = signal(SignalKind::user_defined1())?;
    tokio::spawn(async move {
        tokio::select! {
            _ = term.recv() => {}
            _ = interrupt.recv() => {}
        }
        tracing::info!("shutting down");
        let _ = shutdown.send(true);
    });
    tokio::spawn(async move {
        while user1.recv().await.is_some() {
            tracing::info!("SIGUSR1: generating a new key now (leader only)");
            renew_now.notify_one();
        }
    });
    Ok(())
}
