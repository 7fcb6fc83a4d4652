// Build script of the crates whose tests need the control plane or a browser: see probe.rs.

include!("probe.rs");

fn main() {
    probe_test_environment();
}
