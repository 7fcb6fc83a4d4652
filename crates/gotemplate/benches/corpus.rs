//! Renders the parity corpus (`parity/corpus.txt` over `parity/inputs.txt`) and, in the same
//! run, times Go's `text/template` + Sprig on the same corpus (`go run ./parity -time N`, when
//! Go is installed), then prints the time per template of both and their ratio. Cases in
//! `parity/known-differences.txt` are left out on both sides, and so are the cases that
//! generate keys or hash passwords (key generation times vary by orders of magnitude from
//! one key to the next; they would swamp the engines' own cost).

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use criterion::{Criterion, criterion_group, criterion_main};
use gotemplate::{Budget, Limits};

#[path = "../parity/corpus.rs"]
mod parity_files;
use parity_files::{PARITY, corpus, inputs, read};

const ROUNDS: u32 = 20;

fn render_all(cases: &[(String, String)], data: &BTreeMap<String, &[u8]>, limits: &Limits) {
    for (_, source) in cases {
        let _ = std::hint::black_box(Budget::new(limits.clone()).render(source, data));
    }
}

/// Go's time per template, from the parity program's `-time` mode, leaving out `skip`.
fn go_per_template(skip: &[String]) -> Option<Duration> {
    let list = std::env::temp_dir().join(format!("gotemplate-bench-skip-{}", std::process::id()));
    std::fs::write(&list, skip.join("\n")).ok()?;
    let out = std::process::Command::new("go")
        .args(["run", "-mod=readonly", ".", "-dir", ".", "-skip"])
        .arg(&list)
        .arg("-time")
        .arg(ROUNDS.to_string())
        .current_dir(PARITY)
        .output();
    let _ = std::fs::remove_file(&list);
    let out = out.ok()?;
    let text = String::from_utf8_lossy(&out.stdout);
    // "go: N templates x R: <duration> per template"
    let duration = text.split(": ").nth(2)?.strip_suffix(" per template\n")?;
    parse_go_duration(duration)
}

fn parse_go_duration(s: &str) -> Option<Duration> {
    let (number, unit) = s.split_at(s.find(|c: char| c.is_ascii_alphabetic() || c == 'µ')?);
    let value: f64 = number.parse().ok()?;
    let nanos = match unit {
        "ns" => value,
        "µs" | "us" => value * 1e3,
        "ms" => value * 1e6,
        "s" => value * 1e9,
        _ => return None,
    };
    Some(Duration::from_nanos(nanos as u64))
}

/// Functions whose cost is key generation or password hashing, not template work.
const EXPENSIVE: &[&str] = &[
    "genPrivateKey",
    "genCA",
    "genSelfSignedCert",
    "genSignedCert",
    "derivePassword",
    "bcrypt",
    "htpasswd",
];

/// The cases both engines leave out: known differences and expensive cases.
fn skipped(cases: &[(String, String)]) -> Vec<String> {
    let mut names: Vec<String> = read("known-differences.txt")
        .lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| l.split_whitespace().next().map(str::to_owned))
        .collect();
    names.extend(
        cases
            .iter()
            .filter(|(_, source)| EXPENSIVE.iter().any(|f| source.contains(f)))
            .map(|(name, _)| name.clone()),
    );
    names
}

fn bench(c: &mut Criterion) {
    let all = corpus();
    let skip = skipped(&all);
    let cases: Vec<_> = all
        .into_iter()
        .filter(|(name, _)| !skip.contains(name))
        .collect();
    let values = inputs();
    let data: BTreeMap<String, &[u8]> = values.iter().map(|(k, v)| (k.clone(), &v[..])).collect();
    let limits = Limits {
        deadline: Duration::from_secs(3600),
        ..Limits::default()
    };
    c.bench_function("parity corpus", |b| {
        b.iter(|| render_all(&cases, &data, &limits));
    });

    let started = Instant::now();
    for _ in 0..ROUNDS {
        render_all(&cases, &data, &limits);
    }
    let ours = started.elapsed() / (ROUNDS * u32::try_from(cases.len()).unwrap_or(u32::MAX));
    println!(
        "\n| engine | per template ({} templates x {ROUNDS}) |",
        cases.len()
    );
    println!("| --- | ---: |");
    println!("| gotemplate | {ours:?} |");
    match go_per_template(&skip) {
        Some(go) => {
            println!("| Go text/template + Sprig | {go:?} |");
            println!(
                "\nours / Go: {:.2} (below 1: faster than Go)",
                ours.as_secs_f64() / go.as_secs_f64()
            );
        }
        None => println!("| Go text/template + Sprig | (go not available) |"),
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
