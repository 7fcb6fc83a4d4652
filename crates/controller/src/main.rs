//! `sealed-secrets-controller`: unseals SealedSecrets into Secrets inside the cluster.

use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context as _;
use clap::Parser;
use kube::Client;
use sealed_secrets_controller::app::{self, Environment};
use sealed_secrets_controller::config::Flags;
use tokio::sync::{Notify, watch};

fn main() -> ExitCode {
    let flags = Flags::parse();
    if flags.version {
        println!("controller version: v{}", env!("CARGO_PKG_VERSION"));
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
        // kube's client logs the whole response body at WARN when it cannot decode one: a
        // Secret list carries every Secret's data. The error itself still reaches the caller.
        .with_target("kube_client::client", tracing::Level::ERROR);
    let errors = std::io::stderr.with_max_level(tracing::Level::WARN);
    use tracing_subscriber::layer::SubscriberExt as _;
    use tracing_subscriber::util::SubscriberInitExt as _;
    let registry = tracing_subscriber::registry().with(filter);
    // Colour codes only for a person at a terminal: a pod's log goes to a file and a shipper.
    let colours = {
        use std::io::IsTerminal as _;
        std::io::stderr().is_terminal()
    };
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
            .with(
                tracing_subscriber::fmt::layer()
                    .with_ansi(colours)
                    .with_writer(errors.or_else(std::io::stdout)),
            )
            .try_init(),
        (_, false) => registry
            .with(
                tracing_subscriber::fmt::layer()
                    .with_ansi(colours)
                    .with_writer(std::io::stderr),
            )
            .try_init(),
    };
    if let Err(e) = result {
        eprintln!("warning: logging not initialised: {e}");
    }
}

async fn run(flags: Flags) -> anyhow::Result<()> {
    let client = Client::try_default()
        .await
        .context("cannot configure the Kubernetes client")?;
    let (shutdown_tx, shutdown) = watch::channel(false);
    let renew_now = Arc::new(Notify::new());
    spawn_signal_handlers(shutdown_tx, Arc::clone(&renew_now))?;
    app::run(flags, client, Environment::from_pod(), shutdown, renew_now).await
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
