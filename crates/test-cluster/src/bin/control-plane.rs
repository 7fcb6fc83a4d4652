//! Starts the test control plane for people: prints `export KUBECONFIG=...` and runs until
//! Ctrl-C or SIGTERM, then stops every process and removes its files.

use test_cluster::ControlPlane;

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let plane = match ControlPlane::start() {
        Ok(plane) => plane,
        Err(e) => {
            eprintln!("error: {e}");
            std::process::exit(1);
        }
    };
    println!("export KUBECONFIG={}", plane.kubeconfig().display());
    eprintln!(
        "control plane ready at {} (logs in {}); Ctrl-C stops it",
        plane.server(),
        plane.dir().display()
    );
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .expect("SIGTERM handler");
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term.recv() => {}
    }
    drop(plane);
}
