//! Per-client rate limiting for `/v1/verify` and `/v1/rotate`.
//!
//! A client is the TCP peer's address. `X-Forwarded-For` is read only when the peer is one of
//! the `--trusted-proxies`: anyone else could name a new client in every request and get a
//! fresh allowance each time. Keys are addresses, not strings, so a key has a fixed size, and
//! the store holds at most [`MAX_CLIENTS`] of them: full buckets are pruned, and while the
//! store is still full a client it does not know yet is refused (the limit holds under a
//! flood of addresses instead of growing without bound).

use std::collections::HashMap;
use std::fmt;
use std::net::IpAddr;
use std::num::NonZeroU32;
use std::str::FromStr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Most clients remembered at once (as upstream).
pub const MAX_CLIENTS: usize = 65_536;

/// How often, at most, the store drops clients whose allowance is full again.
const PRUNE_EVERY: Duration = Duration::from_secs(60);

/// An address block, `10.0.0.0/8` or `fd00::/8`; a bare address is a block of one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cidr {
    network: IpAddr,
    prefix: u8,
}

impl Cidr {
    /// Whether `address` is inside the block (IPv4-mapped IPv6 addresses count as IPv4).
    #[must_use]
    pub fn contains(&self, address: IpAddr) -> bool {
        match (self.network, canonical(address)) {
            (IpAddr::V4(net), IpAddr::V4(a)) => prefix_eq(&net.octets(), &a.octets(), self.prefix),
            (IpAddr::V6(net), IpAddr::V6(a)) => prefix_eq(&net.octets(), &a.octets(), self.prefix),
            _ => false,
        }
    }
}

fn prefix_eq(a: &[u8], b: &[u8], prefix: u8) -> bool {
    let bits = usize::from(prefix);
    let (whole, rest) = (bits / 8, bits % 8);
    if a[..whole] != b[..whole] {
        return false;
    }
    rest == 0 || {
        let mask = 0xffu8 << (8 - rest);
        a[whole] & mask == b[whole] & mask
    }
}

fn canonical(address: IpAddr) -> IpAddr {
    match address {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(IpAddr::V6(v6), IpAddr::V4),
        v4 @ IpAddr::V4(_) => v4,
    }
}

impl FromStr for Cidr {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        let bad = || format!("{s:?} is not an address block like 10.0.0.0/8 or fd00::/8");
        let (address, prefix) = match s.split_once('/') {
            Some((address, prefix)) => (address, Some(prefix)),
            None => (s, None),
        };
        let network = canonical(address.trim().parse::<IpAddr>().map_err(|_| bad())?);
        let max = if network.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            Some(p) => p
                .trim()
                .parse::<u8>()
                .ok()
                .filter(|p| *p <= max)
                .ok_or_else(bad)?,
            None => max,
        };
        Ok(Self { network, prefix })
    }
}

impl fmt::Display for Cidr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.network, self.prefix)
    }
}

/// The client a request is counted against: the TCP peer, or, when the peer is a trusted
/// proxy, the nearest address in `X-Forwarded-For` that is not a trusted proxy (proxies append
/// the address they saw, so the entries left of the last untrusted one are the client's say).
#[must_use]
pub fn client_address(peer: IpAddr, forwarded_for: Option<&str>, trusted: &[Cidr]) -> IpAddr {
    let is_trusted = |a: IpAddr| trusted.iter().any(|c| c.contains(a));
    let peer = canonical(peer);
    if !is_trusted(peer) {
        return peer;
    }
    let mut client = peer;
    for entry in forwarded_for.unwrap_or_default().rsplit(',') {
        let Ok(address) = entry.trim().parse::<IpAddr>() else {
            // Unreadable: stop at the last address a trusted hop vouched for.
            break;
        };
        client = canonical(address);
        if !is_trusted(client) {
            break;
        }
    }
    client
}

/// Requests per second and burst, as `--rate-limit` and `--rate-limit-burst`.
#[derive(Debug, Clone, Copy)]
pub struct Quota {
    /// Sustained requests per second.
    pub per_second: NonZeroU32,
    /// Requests allowed at once.
    pub burst: NonZeroU32,
}

/// Keyed rate limiter (generic cell rate algorithm): per key, the time at which its allowance
/// is full again.
#[derive(Debug)]
pub struct RateLimiter<K> {
    interval: Duration,
    tolerance: Duration,
    capacity: usize,
    state: Mutex<Store<K>>,
}

#[derive(Debug)]
struct Store<K> {
    full_at: HashMap<K, Instant>,
    pruned_at: Option<Instant>,
}

impl<K: std::hash::Hash + Eq + Clone> RateLimiter<K> {
    /// A limiter remembering at most `capacity` keys.
    #[must_use]
    pub fn new(quota: Quota, capacity: usize) -> Self {
        let interval = Duration::from_secs(1) / quota.per_second.get();
        Self {
            interval,
            tolerance: interval * (quota.burst.get() - 1),
            capacity,
            state: Mutex::new(Store {
                full_at: HashMap::new(),
                pruned_at: None,
            }),
        }
    }

    /// Whether a request from `key` at `now` is allowed; counts it if so.
    pub fn check(&self, key: &K, now: Instant) -> bool {
        let mut store = self
            .state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let known = store.full_at.contains_key(key);
        let due = store
            .pruned_at
            .is_none_or(|at| now.saturating_duration_since(at) >= PRUNE_EVERY);
        if due || (!known && store.full_at.len() >= self.capacity) {
            store.full_at.retain(|_, full_at| *full_at > now);
            store.pruned_at = Some(now);
        }
        if !known && store.full_at.len() >= self.capacity {
            return false;
        }
        let full_at = store.full_at.get(key).copied().unwrap_or(now).max(now);
        if full_at - now > self.tolerance {
            return false;
        }
        store.full_at.insert(key.clone(), full_at + self.interval);
        true
    }

    /// Keys remembered.
    #[must_use]
    pub fn len(&self) -> usize {
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .full_at
            .len()
    }

    /// Whether no key is remembered.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    fn quota(per_second: u32, burst: u32) -> Quota {
        Quota {
            per_second: NonZeroU32::new(per_second).unwrap(),
            burst: NonZeroU32::new(burst).unwrap(),
        }
    }

    #[test]
    fn cidrs_parse_and_match() {
        let net: Cidr = "10.1.0.0/16".parse().unwrap();
        assert!(net.contains(ip("10.1.200.3")));
        assert!(!net.contains(ip("10.2.0.1")));
        assert!(net.contains(ip("::ffff:10.1.0.9")));
        let one: Cidr = "192.168.0.7".parse().unwrap();
        assert!(one.contains(ip("192.168.0.7")) && !one.contains(ip("192.168.0.8")));
        let v6: Cidr = "fd00::/8".parse().unwrap();
        assert!(v6.contains(ip("fd12::1")) && !v6.contains(ip("fe80::1")));
        let odd: Cidr = "10.0.0.0/9".parse().unwrap();
        assert!(odd.contains(ip("10.127.0.1")) && !odd.contains(ip("10.128.0.1")));
        for bad in ["10.0.0.0/33", "x", "10.0.0.0/", "::/129"] {
            assert!(bad.parse::<Cidr>().is_err(), "{bad}");
        }
    }

    #[test]
    fn x_forwarded_for_from_an_untrusted_peer_is_ignored() {
        assert_eq!(
            client_address(ip("10.0.0.5"), Some("1.2.3.4"), &[]),
            ip("10.0.0.5")
        );
        let proxies = ["10.0.0.0/8".parse().unwrap()];
        assert_eq!(
            client_address(ip("192.168.1.1"), Some("1.2.3.4"), &proxies),
            ip("192.168.1.1")
        );
    }

    #[test]
    fn x_forwarded_for_from_a_trusted_proxy_names_the_nearest_untrusted_hop() {
        let proxies = ["10.0.0.0/8".parse().unwrap()];
        let peer = ip("10.0.0.5");
        // The client may prepend anything; the hop the proxies saw is the last untrusted one.
        assert_eq!(
            client_address(peer, Some("6.6.6.6, 1.2.3.4, 10.0.0.9"), &proxies),
            ip("1.2.3.4")
        );
        assert_eq!(client_address(peer, None, &proxies), peer);
        assert_eq!(client_address(peer, Some("garbage"), &proxies), peer);
        assert_eq!(
            client_address(peer, Some("garbage, 10.0.0.3"), &proxies),
            ip("10.0.0.3")
        );
    }

    #[test]
    fn limiter_allows_the_burst_then_the_rate() {
        let limiter = RateLimiter::new(quota(2, 2), 16);
        let t0 = Instant::now();
        assert!(limiter.check(&1, t0));
        assert!(limiter.check(&1, t0));
        assert!(!limiter.check(&1, t0));
        assert!(
            limiter.check(&2, t0),
            "another client has its own allowance"
        );
        assert!(limiter.check(&1, t0 + Duration::from_millis(500)));
        assert!(!limiter.check(&1, t0 + Duration::from_millis(500)));
    }

    #[test]
    fn rate_limiter_store_is_bounded_and_pruned() {
        let limiter = RateLimiter::new(quota(1, 1), 3);
        let t0 = Instant::now();
        for key in 0..3 {
            assert!(limiter.check(&key, t0));
        }
        // Full of clients still inside their interval: a new one is refused, known ones keep
        // their allowance.
        assert!(!limiter.check(&3, t0));
        assert_eq!(limiter.len(), 3);
        // Once their allowance is full again they are forgotten, and new clients fit.
        let later = t0 + Duration::from_secs(1);
        assert!(limiter.check(&3, later));
        assert_eq!(limiter.len(), 1);
        // Pruning also runs on its own, so the store shrinks without being full.
        let much_later = later + PRUNE_EVERY;
        assert!(limiter.check(&4, much_later));
        assert_eq!(limiter.len(), 1);
    }
}
