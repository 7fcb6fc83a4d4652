//! What the controller benches share: the cached key pairs, the sealed objects, and CPU and
//! memory readings from `/proc`. `benches/controller.rs` (fake API server) and
//! `tests/interop/benches/real_server.rs` (real one) include it, so both measure the same
//! objects with the same keys.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::{Duration, Instant};

use seal::{Certificate, ObjectMeta, PrivateKey, SealOptions, SecretBytes};
use serde_json::Value;

/// The data keys of every benchmark object: three values of 32 random bytes each.
pub const VALUES: [&str; 3] = ["username", "password", "token"];

pub struct KeyPair {
    pub key: PrivateKey,
    pub cert: Certificate,
}

/// `n` RSA key pairs of `bits`, generated on every core the first time and cached under the
/// target directory (generating 24 RSA-4096 keys takes minutes).
pub fn load_keys(bits: usize, n: usize) -> anyhow::Result<Vec<KeyPair>> {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("ctrlbench-keys");
    std::fs::create_dir_all(&dir)?;
    let path = |i: usize, ext: &str| dir.join(format!("rsa{bits}-{i:02}.{ext}"));
    let missing: Vec<usize> = (0..n).filter(|&i| !path(i, "crt").exists()).collect();
    if !missing.is_empty() {
        let started = Instant::now();
        eprintln!(
            "generating {} RSA-{bits} keys (cached in {})",
            missing.len(),
            dir.display()
        );
        let threads = std::thread::available_parallelism().map_or(2, usize::from);
        std::thread::scope(|s| -> anyhow::Result<()> {
            let handles: Vec<_> = (0..threads)
                .map(|t| {
                    let mine: Vec<usize> =
                        missing.iter().copied().skip(t).step_by(threads).collect();
                    let path = &path;
                    s.spawn(move || -> anyhow::Result<()> {
                        for i in mine {
                            let key = PrivateKey::generate(bits)?;
                            let cert = Certificate::self_signed(
                                &key,
                                "",
                                Duration::from_secs(10 * 365 * 24 * 3600),
                            )?;
                            std::fs::write(path(i, "key"), key.to_pkcs1_pem().as_bytes())?;
                            // The certificate last: its presence marks a complete pair.
                            std::fs::write(path(i, "crt"), cert.to_pem())?;
                        }
                        Ok(())
                    })
                })
                .collect();
            for h in handles {
                h.join().expect("key generation thread")?;
            }
            Ok(())
        })?;
        eprintln!("  took {:.1}s", started.elapsed().as_secs_f64());
    }
    (0..n)
        .map(|i| {
            Ok(KeyPair {
                key: PrivateKey::from_pem(&std::fs::read(path(i, "key"))?)?,
                cert: Certificate::from_pem(&std::fs::read(path(i, "crt"))?)?,
            })
        })
        .collect()
}

/// SealedSecret `<namespace>/s<i>` of [`VALUES`], sealed (strict scope) with `cert`.
pub fn sealed_object(i: usize, cert: &Certificate, namespace: &str) -> anyhow::Result<Value> {
    let mut secret = seal::Secret::new(ObjectMeta {
        name: Some(format!("s{i:05}")),
        namespace: Some(namespace.into()),
        ..ObjectMeta::default()
    });
    for name in VALUES {
        let bytes: [u8; 32] = rand::random();
        secret
            .data
            .insert(name.into(), SecretBytes::from_slice(&bytes));
    }
    let sealed = seal::seal_secret(&secret, cert.public_key(), &SealOptions::default())?;
    Ok(serde_json::to_value(&sealed)?)
}

/// utime + stime of a `/proc/.../stat` file, in seconds (clock ticks of 1/100 s).
pub fn stat_cpu(path: &Path) -> Option<f64> {
    let text = std::fs::read_to_string(path).ok()?;
    let after = text.get(text.rfind(')')? + 2..)?;
    let fields: Vec<&str> = after.split_whitespace().collect();
    // Fields 14 and 15 of stat(5); `after` starts at field 3.
    let utime: f64 = fields.get(11)?.parse().ok()?;
    let stime: f64 = fields.get(12)?.parse().ok()?;
    Some((utime + stime) / 100.0)
}

/// CPU seconds a process has used so far (0 once it is gone).
pub fn cpu_seconds(pid: u32) -> f64 {
    stat_cpu(Path::new(&format!("/proc/{pid}/stat"))).unwrap_or(0.0)
}

/// The fields of `/proc/<pid>/status`.
pub fn proc_status(pid: u32) -> BTreeMap<String, String> {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_default()
        .lines()
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.to_owned(), v.trim().to_owned()))
        .collect()
}

/// A `kB` field of [`proc_status`], in KiB.
pub fn kib(status: &BTreeMap<String, String>, field: &str) -> f64 {
    status
        .get(field)
        .and_then(|v| v.trim_end_matches(" kB").trim().parse::<f64>().ok())
        .unwrap_or(0.0)
}
