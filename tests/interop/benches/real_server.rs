//! The controller benchmark on the real control plane (`test-cluster`), upstream's controller
//! and ours one after the other on the same API server (plain `harness = false` binary;
//! `bench/controller.sh real` runs it).
//!
//! For each case (RSA-2048 / RSA-4096, 1 key / N keys with every object sealed with the oldest)
//! the key Secrets are created once in a key namespace both controllers use, and the same
//! sealed objects (3 values each) are created in one namespace per controller before it starts.
//! The clock runs from the controller's start until every Secret exists and every SealedSecret
//! says `Synced=True`. Measured over that window: the controller's CPU (`/proc/<pid>/stat`) and
//! peak RSS (`VmHWM`), the API server's CPU, and the API server's `apiserver_request_total`
//! deltas per object by verb and resource (this harness's own polling subtracted).
//!
//! Then ours alone with many objects (`--big`): all synced, time, peak RSS.
//!
//! ```text
//! cargo bench -p interop --bench real_server -- [compare|big|all]
//!     [--objects 500] [--bits 2048,4096] [--keys 24] [--big 10000]
//! ```

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail, ensure};
use futures::{StreamExt as _, TryStreamExt as _};
use interop::{Controller, Flavor, create_namespaces, is_synced};
use k8s_openapi::api::core::v1::Secret;
use kube::api::{Api, ListParams, PostParams};
use seal::{Certificate, ObjectMeta};
use sealed_secrets_controller::crd::SealedSecret;
use serde_json::Value;
use test_cluster::{Component, ControlPlane};

#[path = "../../../crates/controller/benches/support/mod.rs"]
mod support;
use support::{KeyPair, cpu_seconds, kib, load_keys, proc_status, sealed_object};

struct Options {
    compare: bool,
    big: bool,
    objects: usize,
    big_objects: usize,
    bits: Vec<usize>,
    many_keys: usize,
}

fn options() -> anyhow::Result<Options> {
    let mut o = Options {
        compare: true,
        big: true,
        objects: 500,
        big_objects: 10_000,
        bits: vec![2048, 4096],
        many_keys: 24,
    };
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = || args.next().context("flag needs a value");
        match arg.as_str() {
            "--bench" => {}
            "all" => (o.compare, o.big) = (true, true),
            "compare" => (o.compare, o.big) = (true, false),
            "big" => (o.compare, o.big) = (false, true),
            "--objects" => o.objects = value()?.parse()?,
            "--big" => o.big_objects = value()?.parse()?,
            "--keys" => o.many_keys = value()?.parse()?,
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
// Keys (cached by the shared bench support) and objects

/// Creates the key Secrets in `namespace`: key 0 first and a second before the others, so it
/// is the oldest by creation time too (the API server sets creationTimestamp, in seconds).
async fn create_keys(
    client: &kube::Client,
    namespace: &str,
    keys: &[KeyPair],
) -> anyhow::Result<()> {
    let api: Api<Secret> = Api::namespaced(client.clone(), namespace);
    for (i, pair) in keys.iter().enumerate() {
        let secret = seal::tls_key_secret(
            &pair.key,
            &pair.cert,
            ObjectMeta {
                name: Some(format!("sealed-secrets-key{i:02}")),
                namespace: Some(namespace.into()),
                ..ObjectMeta::default()
            },
        );
        let secret: Secret = serde_json::from_value(serde_json::to_value(&secret)?)?;
        api.create(&PostParams::default(), &secret).await?;
        if i == 0 && keys.len() > 1 {
            tokio::time::sleep(Duration::from_millis(1100)).await;
        }
    }
    Ok(())
}

/// `n` SealedSecrets of 3 values of 32 random bytes (strict scope, namespace `ns`), sealed
/// with `cert` on every core.
fn sealed_objects(n: usize, cert: &Certificate, ns: &str) -> anyhow::Result<Vec<Value>> {
    let threads = std::thread::available_parallelism().map_or(2, usize::from);
    std::thread::scope(|s| -> anyhow::Result<Vec<Value>> {
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                s.spawn(move || {
                    (t..n)
                        .step_by(threads)
                        .map(|i| sealed_object(i, cert, ns))
                        .collect::<anyhow::Result<Vec<Value>>>()
                })
            })
            .collect();
        let mut all = Vec::with_capacity(n);
        for h in handles {
            all.extend(h.join().expect("sealing thread")?);
        }
        Ok(all)
    })
}

/// Creates the sealed objects (made for namespace `ns`, so the strict scope holds) in `ns`.
async fn create_objects(client: &kube::Client, ns: &str, objects: &[Value]) -> anyhow::Result<()> {
    let api: Api<SealedSecret> = Api::namespaced(client.clone(), ns);
    futures::stream::iter(objects.iter())
        .map(|object| {
            let api = api.clone();
            async move {
                let sealed: SealedSecret = serde_json::from_value(object.clone())?;
                api.create(&PostParams::default(), &sealed).await?;
                anyhow::Ok(())
            }
        })
        .buffer_unordered(16)
        .try_for_each(|()| async { Ok(()) })
        .await
}

// ---------------------------------------------------------------------------------------------
// Measurements

/// `apiserver_request_total` summed by "VERB resource[/subresource]".
fn request_counts(metrics: &str) -> BTreeMap<String, f64> {
    let mut counts = BTreeMap::new();
    for line in metrics.lines() {
        let Some(rest) = line.strip_prefix("apiserver_request_total{") else {
            continue;
        };
        let Some((labels, value)) = rest.rsplit_once("} ") else {
            continue;
        };
        let label = |name: &str| {
            labels
                .split(',')
                .find_map(|kv| kv.strip_prefix(&format!("{name}=\"")))
                .map(|v| v.trim_end_matches('"').to_owned())
                .unwrap_or_default()
        };
        let mut key = format!("{} {}", label("verb"), label("resource"));
        let sub = label("subresource");
        if !sub.is_empty() {
            key = format!("{key}/{sub}");
        }
        *counts.entry(key).or_insert(0.0) += value.trim().parse::<f64>().unwrap_or(0.0);
    }
    counts
}

/// The requests that concern the objects (Secrets, SealedSecrets, events), per object.
fn per_object(
    before: &BTreeMap<String, f64>,
    after: &BTreeMap<String, f64>,
    own: &BTreeMap<String, f64>,
    n: usize,
) -> String {
    let mut parts = Vec::new();
    for (key, value) in after {
        let delta =
            value - before.get(key).copied().unwrap_or(0.0) - own.get(key).copied().unwrap_or(0.0);
        let resource = key.split(' ').nth(1).unwrap_or_default();
        let relevant = ["secrets", "sealedsecrets", "events"]
            .iter()
            .any(|r| resource == *r || resource.starts_with(&format!("{r}/")));
        if relevant && delta >= 0.5 {
            parts.push(format!("{key} {:.2}", delta / n as f64));
        }
    }
    parts.join(", ")
}

struct Outcome {
    seconds: f64,
    controller_cpu: f64,
    peak_rss_mib: f64,
    apiserver_cpu: f64,
    requests: String,
}

/// Runs one controller over `n` SealedSecrets already in `objects_ns` until all are synced.
async fn measure(
    plane: &ControlPlane,
    client: &kube::Client,
    flavor: Flavor,
    keys_ns: &str,
    objects_ns: &str,
    n: usize,
    log_dir: &Path,
) -> anyhow::Result<Outcome> {
    let apiserver = plane.pid(Component::ApiServer).context("no API server")?;
    let before = request_counts(&plane.apiserver_metrics().await);
    let apiserver_before = cpu_seconds(apiserver);
    let started = Instant::now();
    let mut controller = Controller::start(
        plane,
        flavor,
        keys_ns,
        &[objects_ns],
        &["--key-renew-period=0"],
        log_dir,
    );
    let pid = controller.pid();
    let secrets: Api<Secret> = Api::namespaced(client.clone(), objects_ns);
    let sealed: Api<SealedSecret> = Api::namespaced(client.clone(), objects_ns);
    let mut own: BTreeMap<String, f64> = BTreeMap::new();
    let timeout = Duration::from_secs(
        std::env::var("REALBENCH_TIMEOUT")
            .ok()
            .and_then(|t| t.parse().ok())
            .unwrap_or(1800),
    );
    let mut controller_cpu;
    let mut peak;
    loop {
        // Read before the check: once all is synced the process may have nothing left to do,
        // and these are its totals over the window.
        controller_cpu = cpu_seconds(pid);
        peak = kib(&proc_status(pid), "VmHWM") / 1024.0;
        ensure!(
            Path::new(&format!("/proc/{pid}")).exists(),
            "the {} controller exited; log:\n{}",
            flavor.name(),
            controller.log()
        );
        ensure!(
            started.elapsed() < timeout,
            "the {} controller did not sync {n} objects in {timeout:?}; log in {}",
            flavor.name(),
            log_dir.display()
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
        *own.entry("LIST secrets".into()).or_default() += 1.0;
        let count = secrets
            .list_metadata(&ListParams::default())
            .await?
            .items
            .len();
        if count < n {
            continue;
        }
        *own.entry("LIST sealedsecrets".into()).or_default() += 1.0;
        let all = sealed.list(&ListParams::default()).await?;
        if all.items.iter().filter(|s| is_synced(s)).count() >= n {
            break;
        }
    }
    let seconds = started.elapsed().as_secs_f64();
    controller_cpu = controller_cpu.max(cpu_seconds(pid));
    peak = peak.max(kib(&proc_status(pid), "VmHWM") / 1024.0);
    let apiserver_cpu = cpu_seconds(apiserver) - apiserver_before;
    let after = request_counts(&plane.apiserver_metrics().await);
    controller.stop();
    Ok(Outcome {
        seconds,
        controller_cpu,
        peak_rss_mib: peak,
        apiserver_cpu,
        requests: per_object(&before, &after, &own, n),
    })
}

struct Row {
    case: String,
    flavor: Flavor,
    n: usize,
    outcome: Outcome,
}

fn log_dir() -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("realbench-logs");
    let _ = std::fs::create_dir_all(&dir);
    dir
}

fn main() -> anyhow::Result<()> {
    let opts = options()?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    // Both binaries first, so that building them is not measured.
    let _ = (Flavor::Upstream.controller(), Flavor::Ours.controller());
    eprintln!("starting the control plane");
    let plane = ControlPlane::start()?;
    let logs = log_dir();
    let mut rows: Vec<Row> = Vec::new();
    runtime.block_on(async {
        let client = plane.client().await;
        create_namespaces(&client, &[]).await;
        if opts.compare {
            for &bits in &opts.bits {
                let keys = load_keys(bits, opts.many_keys)?;
                for key_count in [1, opts.many_keys] {
                    let case = format!(
                        "RSA-{bits}, {key_count} key{}",
                        if key_count == 1 { "" } else { "s, sealed with the oldest" }
                    );
                    let keys_ns = format!("keys-{bits}-{key_count}");
                    create_namespaces(&client, &[&keys_ns]).await;
                    create_keys(&client, &keys_ns, &keys[..key_count]).await?;
                    for flavor in [Flavor::Upstream, Flavor::Ours] {
                        let objects_ns = format!("objects-{bits}-{key_count}-{}", flavor.name());
                        create_namespaces(&client, &[&objects_ns]).await;
                        let objects = sealed_objects(opts.objects, &keys[0].cert, &objects_ns)?;
                        create_objects(&client, &objects_ns, &objects).await?;
                        eprintln!("{case}: {} controller, {} objects ...", flavor.name(), opts.objects);
                        let outcome = measure(&plane, &client, flavor, &keys_ns, &objects_ns, opts.objects, &logs).await?;
                        eprintln!(
                            "  {:.1}s, controller CPU {:.1}s, peak RSS {:.1} MiB, API server CPU {:.1}s; per object: {}",
                            outcome.seconds, outcome.controller_cpu, outcome.peak_rss_mib, outcome.apiserver_cpu, outcome.requests
                        );
                        rows.push(Row { case: case.clone(), flavor, n: opts.objects, outcome });
                    }
                }
            }
        }
        if opts.big {
            let keys = load_keys(2048, 1)?;
            let keys_ns = "keys-big";
            let objects_ns = "objects-big";
            create_namespaces(&client, &[keys_ns, objects_ns]).await;
            create_keys(&client, keys_ns, &keys).await?;
            let n = opts.big_objects;
            eprintln!("creating {n} SealedSecrets ...");
            let objects = sealed_objects(n, &keys[0].cert, objects_ns)?;
            create_objects(&client, objects_ns, &objects).await?;
            drop(objects);
            eprintln!("ours, {n} objects ...");
            let outcome = measure(&plane, &client, Flavor::Ours, keys_ns, objects_ns, n, &logs).await?;
            eprintln!(
                "  {:.1}s, controller CPU {:.1}s, peak RSS {:.1} MiB, API server CPU {:.1}s",
                outcome.seconds, outcome.controller_cpu, outcome.peak_rss_mib, outcome.apiserver_cpu
            );
            rows.push(Row { case: "RSA-2048, 1 key".into(), flavor: Flavor::Ours, n, outcome });
        }
        anyhow::Ok(())
    })?;
    println!("{}", table(&rows)?);
    Ok(())
}

fn table(rows: &[Row]) -> anyhow::Result<String> {
    let mut out = String::new();
    writeln!(
        out,
        "| case | controller | objects | time to all synced | objects/s | rate vs upstream | controller CPU | our CPU / API server CPU | CPU vs 1 key | peak RSS | RSS vs upstream | API server CPU | API requests per object |"
    )?;
    writeln!(
        out,
        "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |"
    )?;
    let find = |case: &str, flavor: Flavor, n: usize| {
        rows.iter()
            .find(|r| r.case == case && r.flavor == flavor && r.n == n)
    };
    for r in rows {
        let o = &r.outcome;
        let rate = r.n as f64 / o.seconds;
        let upstream = find(&r.case, Flavor::Upstream, r.n).filter(|_| r.flavor == Flavor::Ours);
        let vs_rate = upstream.map_or("-".into(), |u| {
            format!("{:.1}x", rate / (r.n as f64 / u.outcome.seconds))
        });
        let vs_rss = upstream.map_or("-".into(), |u| {
            format!("{:.2}", o.peak_rss_mib / u.outcome.peak_rss_mib)
        });
        let one_key_case = r.case.split(',').next().unwrap_or_default().to_owned() + ", 1 key";
        let vs_one_key = find(&one_key_case, r.flavor, r.n)
            .filter(|one| one.case != r.case)
            .map_or("-".into(), |one| {
                format!("{:.2}", o.controller_cpu / one.outcome.controller_cpu)
            });
        writeln!(
            out,
            "| {} | {} | {} | {:.1}s | {:.1} | {} | {:.2}s | {:.2} | {} | {:.1} MiB | {} | {:.2}s | {} |",
            r.case,
            r.flavor.name(),
            r.n,
            o.seconds,
            rate,
            vs_rate,
            o.controller_cpu,
            o.controller_cpu / o.apiserver_cpu.max(0.01),
            vs_one_key,
            o.peak_rss_mib,
            vs_rss,
            o.apiserver_cpu,
            o.requests,
        )?;
    }
    Ok(out)
}
