//! Serve an empty fake API server and write a kubeconfig for it, for manual poking:
//! `cargo run -p fake-apiserver --example serve -- /tmp/fake.kubeconfig`, then
//! `kubectl --kubeconfig /tmp/fake.kubeconfig get secrets -A`. Stops on Ctrl-C.

fn main() -> std::io::Result<()> {
    let path = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "fake.kubeconfig".to_string());
    let fake = fake_apiserver::FakeApiServer::new();
    let addr = fake.write_kubeconfig(std::path::Path::new(&path), "default")?;
    eprintln!("fake API server on http://{addr}; kubeconfig written to {path}");
    loop {
        std::thread::park();
    }
}
