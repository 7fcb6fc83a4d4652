//! Free loopback ports for servers a test starts in another process.
//!
//! Asking the kernel for port 0 and passing the number on races with every outgoing connection
//! of the machine: the kernel hands out the same ephemeral range as local ports of client
//! sockets, so the port can be taken before the server binds it. Ports come from below that range
//! instead, and never twice from one process.

use std::collections::BTreeSet;
use std::net::{Ipv4Addr, SocketAddr, TcpListener};
use std::sync::{Mutex, PoisonError};

/// Lowest port handed out; below it live well-known and registered services.
const LOWEST: u16 = 10_000;

/// A port on 127.0.0.1 that nothing listens on, outside the kernel's ephemeral range and not
/// handed out before by this process.
///
/// # Panics
/// When no such port is left after many tries.
#[must_use]
pub fn free_port() -> u16 {
    static HANDED_OUT: Mutex<BTreeSet<u16>> = Mutex::new(BTreeSet::new());
    let highest = ephemeral_range_start().saturating_sub(1).max(LOWEST + 1000);
    let mut handed_out = HANDED_OUT.lock().unwrap_or_else(PoisonError::into_inner);
    for _ in 0..10_000 {
        let port = rand::random_range(LOWEST..=highest);
        if handed_out.contains(&port) {
            continue;
        }
        if TcpListener::bind((Ipv4Addr::LOCALHOST, port)).is_ok() {
            handed_out.insert(port);
            return port;
        }
    }
    panic!("no free port on 127.0.0.1 between {LOWEST} and {highest}");
}

/// [`free_port`] on 127.0.0.1.
#[must_use]
pub fn free_addr() -> SocketAddr {
    SocketAddr::from((Ipv4Addr::LOCALHOST, free_port()))
}

fn ephemeral_range_start() -> u16 {
    std::fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range")
        .ok()
        .and_then(|range| range.split_whitespace().next()?.parse().ok())
        .unwrap_or(32_768)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ports_are_below_the_ephemeral_range_and_never_repeat() {
        let start = ephemeral_range_start();
        let ports: Vec<u16> = (0..200).map(|_| free_port()).collect();
        assert!(
            ports.iter().all(|&p| (LOWEST..start).contains(&p)),
            "{ports:?}"
        );
        let unique: BTreeSet<u16> = ports.iter().copied().collect();
        assert_eq!(unique.len(), ports.len());
    }
}
