//! Controller benchmark (plain `harness = false` binary; `bench/controller.sh` runs it).
//!
//! Throughput: N SealedSecrets of 3 values each are sealed with one key of a key set held by
//! a fake API server (served over HTTP from its own thread, so its CPU time is attributable),
//! then the whole controller (`app::run`) starts in-process and the clock runs until every
//! Secret exists and every status says Synced. The raw limit is measured in the same run:
//! single RSA-OAEP-SHA256 decrypts of a 32-byte session key with `aws-lc-rs` on the same key
//! size, per core; an object needs at least 3 of them.
//!
//! Memory: the release controller binary runs against the fake's `serve` example (another
//! process) holding N SealedSecrets; after it has synced them all, `VmRSS`/`VmHWM` are read
//! from `/proc/<pid>/status`.
//!
//! ```text
//! cargo bench -p sealed-secrets-controller --bench controller -- [throughput|memory|all]
//!     [--objects N] [--memory-objects N] [--bits 2048,4096] [--keys 24]
//! ```

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use anyhow::{Context as _, bail, ensure};
use aws_lc_rs::rsa::{
    OAEP_SHA256_MGF1SHA256, OaepPrivateDecryptingKey, OaepPublicEncryptingKey,
    PrivateDecryptingKey, PublicEncryptingKey,
};
use base64::Engine as _;
use clap::Parser as _;
use fake_apiserver::{FakeApiServer, Gvr, Verb};
use futures::{StreamExt as _, TryStreamExt as _};
use k8s_openapi::api::core::v1::{Namespace, Secret};
use kube::api::{Api, ListParams, PostParams};
use seal::{ObjectMeta, PrivateKey};
use sealed_secrets_controller::app::{self, Environment};
use sealed_secrets_controller::config::Flags;
use sealed_secrets_controller::crd::SealedSecret;
use serde_json::{Value, json};
use tokio::sync::{Notify, watch};

mod support;
use support::{KeyPair, cpu_seconds, kib, load_keys, proc_status, sealed_object, stat_cpu};

const NS: &str = "bench";
const CONTROLLER_NS: &str = "kube-system";
/// RSA decrypts one object needs at least (one per value).
const DECRYPTS_PER_OBJECT: f64 = 3.0;
const MONTH: Duration = Duration::from_secs(30 * 24 * 3600);

// ---------------------------------------------------------------------------------------------
// Options

struct Options {
    throughput: bool,
    memory: bool,
    objects: usize,
    memory_objects: usize,
    bits: Vec<usize>,
    many_keys: usize,
    raw_seconds: f64,
}

fn options() -> anyhow::Result<Options> {
    let mut o = Options {
        throughput: true,
        memory: true,
        objects: 1000,
        memory_objects: 10_000,
        bits: vec![2048, 4096],
        many_keys: 24,
        raw_seconds: 1.0,
    };
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = || args.next().context("flag needs a value");
        match arg.as_str() {
            "--bench" => {}
            "all" => (o.throughput, o.memory) = (true, true),
            "throughput" => (o.throughput, o.memory) = (true, false),
            "memory" => (o.throughput, o.memory) = (false, true),
            "--objects" => o.objects = value()?.parse()?,
            "--memory-objects" => o.memory_objects = value()?.parse()?,
            "--keys" => o.many_keys = value()?.parse()?,
            "--raw-seconds" => o.raw_seconds = value()?.parse()?,
            "--bits" => {
                o.bits = value()?
                    .split(',')
                    .map(str::parse)
                    .collect::<Result<_, _>>()?;
            }
            other => bail!("unknown argument {other:?}"),
        }
    }
    Ok(o)
}

// ---------------------------------------------------------------------------------------------
// Key Secrets

/// The key Secret for key `i` of `n`: key 0 is the oldest (created `n` months ago), key
/// `n-1` the newest; the controller orders them by `creationTimestamp`.
fn key_secret_json(pair: &KeyPair, i: usize, n: usize) -> anyhow::Result<Value> {
    let secret = seal::tls_key_secret(
        &pair.key,
        &pair.cert,
        ObjectMeta {
            name: Some(format!("sealed-secrets-key{i:02}")),
            namespace: Some(CONTROLLER_NS.into()),
            ..ObjectMeta::default()
        },
    );
    let mut v = serde_json::to_value(&secret)?;
    let created = SystemTime::now() - MONTH * u32::try_from(n - i)?;
    let created = jiff::Timestamp::try_from(created)?.round(jiff::Unit::Second)?;
    v["metadata"]["creationTimestamp"] = json!(created.to_string());
    Ok(v)
}

// ---------------------------------------------------------------------------------------------
// Raw RSA baseline

fn pkcs8_der(key: &PrivateKey) -> anyhow::Result<Vec<u8>> {
    let pem = key.to_pkcs8_pem();
    let b64: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
    Ok(base64::engine::general_purpose::STANDARD.decode(b64)?)
}

/// Raw rate of RSA-OAEP-SHA256 decrypts of a 32-byte session key on `threads` threads:
/// decrypts per wall-clock second (summed over threads), and per CPU-second of those threads
/// (what one core does when it is not shared: other jobs on the machine do not skew it).
struct Raw {
    per_wall_second: f64,
    per_cpu_second: f64,
}

fn raw_decrypts_per_second(key: &PrivateKey, threads: usize, seconds: f64) -> anyhow::Result<Raw> {
    let der = pkcs8_der(key)?;
    let public = OaepPublicEncryptingKey::new(
        PublicEncryptingKey::from_der(key.public_key().spki_der())
            .map_err(|e| anyhow::anyhow!("{e}"))?,
    )
    .map_err(|e| anyhow::anyhow!("{e}"))?;
    let label = b"bench/s00000";
    let mut buffer = vec![0; public.ciphertext_size()];
    let ciphertext = public
        .encrypt(
            &OAEP_SHA256_MGF1SHA256,
            &[7u8; 32],
            &mut buffer,
            Some(label),
        )
        .map_err(|e| anyhow::anyhow!("{e}"))?
        .to_vec();
    let duration = Duration::from_secs_f64(seconds);
    let rates = std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads)
            .map(|_| {
                s.spawn(|| {
                    let private = OaepPrivateDecryptingKey::new(
                        PrivateDecryptingKey::from_pkcs8(&der).expect("pkcs8"),
                    )
                    .expect("oaep key");
                    let mut out = vec![0; private.min_output_size()];
                    let cpu_started = stat_cpu(Path::new("/proc/thread-self/stat")).unwrap_or(0.0);
                    let started = Instant::now();
                    let mut n = 0u64;
                    while started.elapsed() < duration {
                        for _ in 0..8 {
                            let plain = private
                                .decrypt(
                                    &OAEP_SHA256_MGF1SHA256,
                                    &ciphertext,
                                    &mut out,
                                    Some(label),
                                )
                                .expect("decrypt");
                            assert_eq!(plain.len(), 32);
                        }
                        n += 8;
                    }
                    let wall = started.elapsed().as_secs_f64();
                    let cpu =
                        stat_cpu(Path::new("/proc/thread-self/stat")).unwrap_or(0.0) - cpu_started;
                    (n as f64, wall, cpu)
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("raw thread"))
            .collect::<Vec<(f64, f64, f64)>>()
    });
    let n: f64 = rates.iter().map(|r| r.0).sum();
    let wall = rates.iter().map(|r| r.1).fold(0.0, f64::max);
    let cpu: f64 = rates.iter().map(|r| r.2).sum();
    Ok(Raw {
        per_wall_second: n / wall,
        per_cpu_second: n / cpu.max(0.01),
    })
}

// ---------------------------------------------------------------------------------------------
// CPU accounting from /proc (clock ticks)

/// (CPU seconds of the controller, of the fake API server): the whole process minus the
/// fake's threads and minus this harness's main thread, which watches for the end.
fn cpu_split() -> (f64, f64) {
    let total = stat_cpu(Path::new("/proc/self/stat")).unwrap_or(0.0);
    let harness = stat_cpu(Path::new(&format!(
        "/proc/self/task/{}/stat",
        std::process::id()
    )))
    .unwrap_or(0.0);
    let mut fake = 0.0;
    if let Ok(tasks) = std::fs::read_dir("/proc/self/task") {
        for task in tasks.flatten() {
            let comm = std::fs::read_to_string(task.path().join("comm")).unwrap_or_default();
            if comm.starts_with("fake-apiserver") {
                fake += stat_cpu(&task.path().join("stat")).unwrap_or(0.0);
            }
        }
    }
    (total - fake - harness, fake)
}

// ---------------------------------------------------------------------------------------------
// Throughput scenario

#[derive(Clone, Copy, PartialEq, Eq)]
enum SealedWith {
    Oldest,
    Newest,
}

struct Scenario {
    bits: usize,
    keys: usize,
    sealed_with: SealedWith,
    objects: usize,
}

impl Scenario {
    fn name(&self) -> String {
        let with = match (self.keys, self.sealed_with) {
            (1, _) => String::new(),
            (_, SealedWith::Oldest) => ", sealed with oldest".into(),
            (_, SealedWith::Newest) => ", sealed with newest".into(),
        };
        format!(
            "RSA-{} {} key{}{}",
            self.bits,
            self.keys,
            if self.keys == 1 { "" } else { "s" },
            with
        )
    }
}

#[derive(Default, Clone)]
struct Requests {
    secret_create: usize,
    secret_update: usize,
    secret_patch: usize,
    secret_get: usize,
    status_patch: usize,
    event_writes: usize,
    warning_events: usize,
}

impl Requests {
    fn of(fake: &FakeApiServer) -> Self {
        let records = fake.requests();
        let in_ns = |r: &&fake_apiserver::RequestRecord| r.namespace.as_deref() == Some(NS);
        let count = |verb: Verb, resource: &str, sub: Option<&str>| {
            records
                .iter()
                .filter(in_ns)
                .filter(|r| {
                    r.verb == verb
                        && r.gvr.as_ref().is_some_and(|g| g.resource == resource)
                        && r.subresource.as_deref() == sub
                })
                .count()
        };
        let event_writes = records
            .iter()
            .filter(in_ns)
            .filter(|r| r.verb.is_write() && r.gvr.as_ref().is_some_and(|g| g.resource == "events"))
            .count();
        Self {
            secret_create: count(Verb::Create, "secrets", None),
            secret_update: count(Verb::Update, "secrets", None),
            secret_patch: count(Verb::Patch, "secrets", None),
            secret_get: count(Verb::Get, "secrets", None),
            status_patch: count(Verb::Patch, "sealedsecrets", Some("status"))
                + count(Verb::Update, "sealedsecrets", Some("status")),
            event_writes,
            warning_events: fake
                .list(&Gvr::new("events.k8s.io", "v1", "events"), Some(NS))
                .iter()
                .filter(|e| e["type"] == "Warning")
                .count(),
        }
    }

    fn per_object(&self, n: usize) -> String {
        let n = n as f64;
        let secret_writes = (self.secret_create + self.secret_update + self.secret_patch) as f64;
        format!(
            "{:.2} Secret write + {:.2} status + {:.2} event ({} Warning events); {:.2} Secret GET",
            secret_writes / n,
            self.status_patch as f64 / n,
            self.event_writes as f64 / n,
            self.warning_events,
            self.secret_get as f64 / n,
        )
    }

    fn writes_per_object(&self, n: usize) -> f64 {
        (self.secret_create
            + self.secret_update
            + self.secret_patch
            + self.status_patch
            + self.event_writes) as f64
            / n as f64
    }
}

struct Outcome {
    elapsed: Duration,
    first_write: Duration,
    controller_cpu: f64,
    fake_cpu: f64,
    requests: Requests,
}

fn all_synced(fake: &FakeApiServer, n: usize) -> bool {
    if fake.list(&Gvr::core("secrets"), Some(NS)).len() < n {
        return false;
    }
    let sealed = fake.list(&Gvr::sealed_secrets(), Some(NS));
    sealed.len() == n
        && sealed.iter().all(|s| {
            s.pointer("/status/conditions")
                .and_then(Value::as_array)
                .is_some_and(|c| {
                    c.iter()
                        .any(|c| c["type"] == "Synced" && c["status"] == "True")
                })
                && s.pointer("/status/observedGeneration") == s.pointer("/metadata/generation")
        })
}

fn run_scenario(scenario: &Scenario, keys: &[KeyPair]) -> anyhow::Result<Outcome> {
    let fake = FakeApiServer::new();
    fake.create_namespace(NS);
    let ring = &keys[..scenario.keys];
    for (i, pair) in ring.iter().enumerate() {
        fake.insert(&Gvr::core("secrets"), key_secret_json(pair, i, ring.len())?);
    }
    let sealing = match scenario.sealed_with {
        SealedWith::Oldest => &ring[0],
        SealedWith::Newest => &ring[ring.len() - 1],
    };
    for i in 0..scenario.objects {
        fake.insert(&Gvr::sealed_secrets(), sealed_object(i, &sealing.cert, NS)?);
    }
    let addr = fake.serve_in_background()?;
    fake.reset_requests();

    let flags = Flags::try_parse_from([
        "sealed-secrets-controller",
        "--key-renew-period",
        "0",
        "--key-order-priority",
        "SecretCreationTimestamp",
        "--listen-addr",
        "127.0.0.1:0",
        "--listen-metrics-addr",
        "127.0.0.1:0",
    ])?;
    let (stop, shutdown) = watch::channel(false);
    let (cpu_before, fake_before) = cpu_split();
    let started = Instant::now();
    // `app::run` is not `Send`: drive it with `block_on`, as the binary's `main` does.
    let task = std::thread::spawn(move || -> anyhow::Result<()> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()?;
        let result = runtime.block_on(async move {
            let config = kube::Config::new(format!("http://{addr}").parse()?);
            let client = kube::Client::try_from(config)?;
            app::run(
                flags,
                client,
                Environment {
                    namespace: CONTROLLER_NS.into(),
                    identity: "ctrlbench".into(),
                },
                shutdown,
                Arc::new(Notify::new()),
            )
            .await
        });
        runtime.shutdown_timeout(Duration::from_secs(2));
        result
    });

    let n = scenario.objects;
    let mut first_write = None;
    let timeout = Duration::from_secs(
        std::env::var("CTRLBENCH_TIMEOUT")
            .ok()
            .and_then(|t| t.parse().ok())
            .unwrap_or(300),
    );
    loop {
        let created = fake.count(Verb::Create, "secrets");
        if first_write.is_none() && created > 0 {
            first_write = Some(started.elapsed());
        }
        if created >= n
            && fake.count(Verb::Patch, "sealedsecrets/status") >= n
            && all_synced(&fake, n)
        {
            break;
        }
        if started.elapsed() > timeout || task.is_finished() {
            let unsynced: Vec<Value> = fake
                .list(&Gvr::sealed_secrets(), Some(NS))
                .into_iter()
                .filter(|s| {
                    !s.pointer("/status/conditions/0/status")
                        .is_some_and(|v| v == "True")
                })
                .collect();
            for s in unsynced.iter().take(5) {
                eprintln!("unsynced: {} status {}", s["metadata"]["name"], s["status"]);
            }
            for e in fake
                .list(&Gvr::new("events.k8s.io", "v1", "events"), Some(NS))
                .iter()
                .filter(|e| e["type"] != "Normal")
                .take(5)
            {
                eprintln!(
                    "event: {} {} {}",
                    e["regarding"]["name"], e["reason"], e["note"]
                );
            }
            let records = fake.requests();
            for s in unsynced.iter().take(3) {
                let name = s["metadata"]["name"].as_str().unwrap_or_default();
                for r in records.iter().filter(|r| r.path.contains(name)) {
                    eprintln!("  about {name}: {} {}", r.method, r.path);
                }
                eprintln!(
                    "  secret exists: {}",
                    fake.get(&Gvr::core("secrets"), NS, name).is_some()
                );
            }
            eprintln!("{} requests; last ones:", records.len());
            for r in records.iter().rev().take(25).rev() {
                eprintln!("  {} {}?{}", r.method, r.path, r.query);
            }
            bail!(
                "{}: not synced after {:?} ({created} Secrets created)",
                scenario.name(),
                started.elapsed()
            );
        }
        // Each look takes the fake's lock and scans its request log: not too often.
        std::thread::sleep(Duration::from_millis(10));
    }
    let elapsed = started.elapsed();
    let (cpu_after, fake_after) = cpu_split();
    let requests = Requests::of(&fake);
    let _ = stop.send(true);
    match task.join() {
        Ok(Ok(())) => {}
        Ok(Err(e)) => eprintln!("controller ended with an error: {e:#}"),
        Err(_) => bail!("controller thread panicked"),
    }
    let fake_cpu = fake_after - fake_before;
    Ok(Outcome {
        elapsed,
        first_write: first_write.unwrap_or_default(),
        controller_cpu: cpu_after - cpu_before,
        fake_cpu,
        requests,
    })
}

// ---------------------------------------------------------------------------------------------
// Memory scenario: the release binary against the fake in another process

struct Killed(Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn release_dir() -> anyhow::Result<PathBuf> {
    // target/release/deps/controller-<hash>
    let exe = std::env::current_exe()?;
    Ok(exe
        .parent()
        .and_then(Path::parent)
        .context("bench binary is not under target/<profile>/deps")?
        .to_path_buf())
}

struct MemoryOutcome {
    objects: usize,
    load: Duration,
    sync: Duration,
    controller_cpu: f64,
    fake_cpu: f64,
    rss_mib: f64,
    hwm_mib: f64,
    rss_idle_mib: f64,
}

fn run_memory(objects: usize) -> anyhow::Result<MemoryOutcome> {
    let release = release_dir()?;
    let serve = release.join("examples/serve");
    let controller = release.join("sealed-secrets-controller");
    for bin in [&serve, &controller] {
        ensure!(
            bin.exists(),
            "{} is missing: cargo build --release -p sealed-secrets-controller --bin sealed-secrets-controller -p fake-apiserver --example serve",
            bin.display()
        );
    }
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("ctrlbench-memory-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let kubeconfig = dir.join("kubeconfig");
    let fake = Killed(
        Command::new(&serve)
            .arg(&kubeconfig)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()?,
    );
    let waited = Instant::now();
    let text = loop {
        if let Ok(text) = std::fs::read_to_string(&kubeconfig)
            && text.contains("current-context")
        {
            break text;
        }
        ensure!(
            waited.elapsed() < Duration::from_secs(20),
            "fake API server did not start"
        );
        std::thread::sleep(Duration::from_millis(20));
    };
    let server = text
        .lines()
        .find_map(|l| l.trim().strip_prefix("server: "))
        .context("no server in kubeconfig")?
        .to_owned();

    let keys = load_keys(2048, 1)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let client = runtime.block_on(async {
        kube::Client::try_from(kube::Config::new(server.parse()?)).map_err(anyhow::Error::from)
    })?;

    // Load: the namespace, one key, and the SealedSecrets (sealed on all cores, posted 32 at once).
    let load_started = Instant::now();
    let sealed: Vec<SealedSecret> = {
        let threads = std::thread::available_parallelism().map_or(2, usize::from);
        let cert = &keys[0].cert;
        std::thread::scope(|s| -> anyhow::Result<Vec<SealedSecret>> {
            let handles: Vec<_> = (0..threads)
                .map(|t| {
                    s.spawn(move || {
                        (t..objects)
                            .step_by(threads)
                            .map(|i| Ok(serde_json::from_value(sealed_object(i, cert, NS)?)?))
                            .collect::<anyhow::Result<Vec<SealedSecret>>>()
                    })
                })
                .collect();
            let mut all = Vec::with_capacity(objects);
            for h in handles {
                all.extend(h.join().expect("sealing thread")?);
            }
            Ok(all)
        })?
    };
    runtime.block_on(async {
        let namespaces: Api<Namespace> = Api::all(client.clone());
        namespaces
            .create(
                &PostParams::default(),
                &serde_json::from_value(json!({"metadata": {"name": NS}}))?,
            )
            .await?;
        let secrets: Api<Secret> = Api::namespaced(client.clone(), CONTROLLER_NS);
        let mut key = key_secret_json(&keys[0], 0, 1)?;
        key["metadata"]
            .as_object_mut()
            .map(|m| m.remove("creationTimestamp"));
        secrets
            .create(&PostParams::default(), &serde_json::from_value(key)?)
            .await?;
        let api: Api<SealedSecret> = Api::namespaced(client.clone(), NS);
        futures::stream::iter(sealed.iter())
            .map(|s| {
                let api = api.clone();
                async move { api.create(&PostParams::default(), s).await }
            })
            .buffer_unordered(32)
            .try_for_each(|_| async { Ok(()) })
            .await?;
        anyhow::Ok(())
    })?;
    drop(sealed);
    let load = load_started.elapsed();

    let log = std::fs::File::create(dir.join("controller.log"))?;
    let fake_pid = fake.0.id();
    let fake_cpu_before = cpu_seconds(fake_pid);
    let sync_started = Instant::now();
    let child = Killed(
        Command::new(&controller)
            .args([
                "--key-renew-period",
                "0",
                "--listen-addr",
                "127.0.0.1:0",
                "--listen-metrics-addr",
                "127.0.0.1:0",
            ])
            .env("KUBECONFIG", &kubeconfig)
            .env("POD_NAMESPACE", CONTROLLER_NS)
            .env("POD_NAME", "ctrlbench")
            .stdout(log.try_clone()?)
            .stderr(log)
            .spawn()?,
    );
    let pid = child.0.id();
    let secrets: Api<Secret> = Api::namespaced(client.clone(), NS);
    let sealed_api: Api<SealedSecret> = Api::namespaced(client.clone(), NS);
    runtime.block_on(async {
        loop {
            ensure!(
                sync_started.elapsed() < Duration::from_secs(300),
                "controller did not sync {objects} objects in 300s (see {})",
                dir.display()
            );
            ensure!(
                Path::new(&format!("/proc/{pid}")).exists(),
                "controller exited (see {})",
                dir.display()
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
            let page = secrets
                .list_metadata(&ListParams::default().limit(1))
                .await?;
            let count = page.items.len() as i64 + page.metadata.remaining_item_count.unwrap_or(0);
            if count < objects as i64 {
                continue;
            }
            let all = sealed_api.list(&ListParams::default()).await?;
            let synced = all
                .items
                .iter()
                .filter(|s| {
                    s.status.as_ref().is_some_and(|st| {
                        st.conditions
                            .iter()
                            .any(|c| c.type_ == "Synced" && c.status == "True")
                    })
                })
                .count();
            if synced >= objects {
                return Ok(());
            }
        }
    })?;
    let sync = sync_started.elapsed();
    let controller_cpu = cpu_seconds(pid);
    let fake_cpu = cpu_seconds(fake_pid) - fake_cpu_before;
    let at_sync = proc_status(pid);
    std::thread::sleep(Duration::from_secs(5));
    let idle = proc_status(pid);
    drop(child);
    drop(fake);
    runtime.shutdown_timeout(Duration::from_secs(1));
    let _ = std::fs::remove_dir_all(&dir);
    Ok(MemoryOutcome {
        objects,
        load,
        sync,
        controller_cpu,
        fake_cpu,
        rss_mib: kib(&at_sync, "VmRSS") / 1024.0,
        hwm_mib: kib(&idle, "VmHWM") / 1024.0,
        rss_idle_mib: kib(&idle, "VmRSS") / 1024.0,
    })
}

// ---------------------------------------------------------------------------------------------

struct Row {
    scenario: String,
    objects_per_second: f64,
    ratio_machine: String,
    ratio_used: String,
    cores_used: String,
    key_ratio: String,
    requests: String,
    rss: String,
}

fn main() -> anyhow::Result<()> {
    if let Ok(filter) = std::env::var("CTRLBENCH_LOG") {
        tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::new(filter))
            .with_writer(std::io::stderr)
            .init();
    }
    let opts = options()?;
    let cores = std::thread::available_parallelism().map_or(1, usize::from);
    let mut rows: Vec<Row> = Vec::new();
    let mut notes: Vec<String> = Vec::new();

    if opts.throughput {
        for &bits in &opts.bits {
            let keys = load_keys(bits, opts.many_keys)?;
            let raw_before = raw_decrypts_per_second(&keys[0].key, 1, opts.raw_seconds)?;
            let scenarios = [
                Scenario {
                    bits,
                    keys: 1,
                    sealed_with: SealedWith::Oldest,
                    objects: opts.objects,
                },
                Scenario {
                    bits,
                    keys: opts.many_keys,
                    sealed_with: SealedWith::Oldest,
                    objects: opts.objects,
                },
                Scenario {
                    bits,
                    keys: opts.many_keys,
                    sealed_with: SealedWith::Newest,
                    objects: opts.objects,
                },
            ];
            let mut outcomes = Vec::new();
            for scenario in &scenarios {
                let outcome = run_scenario(scenario, &keys)?;
                eprintln!(
                    "{}: {} objects in {:.2}s (first Secret at {:.2}s); CPU controller {:.2}s, fake {:.2}s; {}",
                    scenario.name(),
                    scenario.objects,
                    outcome.elapsed.as_secs_f64(),
                    outcome.first_write.as_secs_f64(),
                    outcome.controller_cpu,
                    outcome.fake_cpu,
                    outcome.requests.per_object(scenario.objects),
                );
                outcomes.push(outcome);
            }
            let raw_after = raw_decrypts_per_second(&keys[0].key, 1, opts.raw_seconds)?;
            let raw_all = raw_decrypts_per_second(&keys[0].key, cores, opts.raw_seconds)?;
            // Per CPU-second of one thread: the rate of one core to itself.
            let raw = f64::midpoint(raw_before.per_cpu_second, raw_after.per_cpu_second);
            notes.push(format!(
                "RSA-{bits} raw decrypts per core-second: {raw:.0} (before {:.0}, after {:.0}); \
                 {cores} threads together reached {:.0}/s wall-clock, i.e. {:.2} cores were free for us",
                raw_before.per_cpu_second,
                raw_after.per_cpu_second,
                raw_all.per_wall_second,
                raw_all.per_wall_second / raw,
            ));
            let one_key = outcomes[0].elapsed.as_secs_f64();
            for (scenario, outcome) in scenarios.iter().zip(&outcomes) {
                let secs = outcome.elapsed.as_secs_f64();
                let rate = scenario.objects as f64 / secs;
                let used = outcome.controller_cpu / secs;
                rows.push(Row {
                    scenario: scenario.name(),
                    objects_per_second: rate,
                    ratio_machine: format!(
                        "{:.0}%",
                        100.0 * rate * DECRYPTS_PER_OBJECT / (raw * cores as f64)
                    ),
                    ratio_used: format!(
                        "{:.0}%",
                        100.0 * rate * DECRYPTS_PER_OBJECT / (raw * used)
                    ),
                    cores_used: format!("{used:.2} (+{:.2} fake)", outcome.fake_cpu / secs),
                    key_ratio: if scenario.keys == 1 {
                        "1.00".into()
                    } else {
                        format!("{:.2}", secs / one_key)
                    },
                    requests: format!(
                        "{:.2} writes: {}",
                        outcome.requests.writes_per_object(scenario.objects),
                        outcome.requests.per_object(scenario.objects)
                    ),
                    rss: "-".into(),
                });
            }
        }
    }

    if opts.memory {
        let m = run_memory(opts.memory_objects)?;
        eprintln!(
            "memory: {} objects loaded in {:.1}s, synced by the binary in {:.1}s; CPU controller {:.1}s, fake {:.1}s",
            m.objects,
            m.load.as_secs_f64(),
            m.sync.as_secs_f64(),
            m.controller_cpu,
            m.fake_cpu
        );
        let secs = m.sync.as_secs_f64();
        rows.push(Row {
            scenario: format!(
                "binary, RSA-2048 1 key, {} watched (fake in its own process)",
                m.objects
            ),
            objects_per_second: m.objects as f64 / secs,
            ratio_machine: "-".into(),
            ratio_used: "-".into(),
            cores_used: format!(
                "{:.2} (+{:.2} fake)",
                m.controller_cpu / secs,
                m.fake_cpu / secs
            ),
            key_ratio: "-".into(),
            requests: "-".into(),
            rss: format!(
                "{:.1} MiB at sync, {:.1} MiB idle 5s later, peak (VmHWM) {:.1} MiB",
                m.rss_mib, m.rss_idle_mib, m.hwm_mib
            ),
        });
    }

    let mut out = String::new();
    writeln!(
        out,
        "| scenario | objects/s | vs raw x {cores} cores | vs raw x cores used | controller cores used | 24-key/1-key time | requests per object | RSS |"
    )?;
    writeln!(out, "| --- | ---: | ---: | ---: | --- | ---: | --- | --- |")?;
    for r in &rows {
        writeln!(
            out,
            "| {} | {:.0} | {} | {} | {} | {} | {} | {} |",
            r.scenario,
            r.objects_per_second,
            r.ratio_machine,
            r.ratio_used,
            r.cores_used,
            r.key_ratio,
            r.requests,
            r.rss
        )?;
    }
    out.push('\n');
    for n in &notes {
        writeln!(out, "- {n}")?;
    }
    println!("{out}");
    Ok(())
}
