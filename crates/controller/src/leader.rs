//! Leader election on a `coordination.k8s.io/v1` Lease: only the leader reconciles and renews
//! keys; losing the lease stops that work at once; shutting down releases the lease.

use std::time::Duration;

use kube::Client;
use kube_lease_manager::LeaseManagerBuilder;
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

/// Waits until the watched value satisfies `f`; false when the sender is gone. Unlike
/// `wait_for` in a `select!` arm, no `watch::Ref` outlives the wait: the borrow would be held
/// through the arm's body, which makes the future `!Send` and blocks the channel's sender.
async fn reached<T>(rx: &mut watch::Receiver<T>, f: impl FnMut(&T) -> bool) -> bool {
    rx.wait_for(f).await.is_ok()
}

/// Runs `work` whenever this replica holds the lease, until `shutdown` turns true.
/// `work` gets a receiver that turns true when it should stop gracefully; on a lost lease the
/// task is aborted instead.
pub async fn lead<F, Fut>(
    client: Client,
    config: LeaseConfig,
    mut shutdown: watch::Receiver<bool>,
    mut work: F,
) -> anyhow::Result<()>
where
    F: FnMut(watch::Receiver<bool>) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    let seconds = config.duration.as_secs().max(3);
    let manager = LeaseManagerBuilder::new(client, &config.name)
        .with_namespace(&config.namespace)
        .with_identity(&config.identity)
        .with_duration(seconds)
        .with_grace((seconds / 3).max(1))
        .build()
        .await?;
    let (mut leading, handle) = manager.watch().await;
    loop {
        tokio::select! {
            acquired = reached(&mut leading, |is_leader| *is_leader) => {
                if !acquired {
                    break;
                }
            }
            _ = reached(&mut shutdown, |stop| *stop) => break,
        }
        tracing::info!(identity = %config.identity, lease = %config.name, "became leader");
        let (stop_tx, stop_rx) = watch::channel(false);
        let mut task = tokio::spawn(work(stop_rx));
        tokio::select! {
            _ = reached(&mut leading, |is_leader| !*is_leader) => {
                tracing::warn!(identity = %config.identity, "lost the lease; stopping at once");
                task.abort();
                let _ = task.await;
            }
            _ = reached(&mut shutdown, |stop| *stop) => {
                let _ = stop_tx.send(true);
                let _ = tokio::time::timeout(Duration::from_secs(10), &mut task).await;
                task.abort();
                break;
            }
            _ = &mut task => {
                tracing::warn!("leader work ended on its own");
            }
        }
    }
    // Dropping the receiver makes the manager release the lease.
    drop(leading);
    match handle.await {
        Ok(Ok(_)) => tracing::info!("lease released"),
        Ok(Err(e)) => tracing::warn!(error = %e, "cannot release the lease"),
        Err(e) => tracing::warn!(error = %e, "lease task failed"),
    }
    Ok(())
}
