#!/usr/bin/env bash
# Core (crates/seal) benchmarks: runs the criterion bench `seal`, then prints a markdown table
# of per-op medians and the ratios against baselines measured in the same run.
#
#   bench/core.sh              # run the benches (a few minutes), then print the table
#   bench/core.sh --report     # only print the table from the last run's criterion output
#
# Env: SAMPLE_SIZE (default 20), MEASUREMENT_TIME seconds (default 5), WARM_UP_TIME (default 1).
# Do not run it next to other heavy jobs: the numbers are wall-clock.
set -euo pipefail
cd "$(dirname "$0")/.."

target_dir="$(cargo metadata --format-version 1 --no-deps |
  python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')"
criterion_dir="$target_dir/criterion"

if [ "${1:-}" != "--report" ]; then
  cargo bench -p sealed-secrets-seal --bench seal -- --noplot \
    --sample-size "${SAMPLE_SIZE:-20}" \
    --measurement-time "${MEASUREMENT_TIME:-5}" \
    --warm-up-time "${WARM_UP_TIME:-1}" >&2
fi

python3 - "$criterion_dir" "$(git rev-parse --short HEAD 2>/dev/null || echo '?')" <<'PY'
import json, os, sys, time

root, commit = sys.argv[1], sys.argv[2]
load = os.getloadavg()[0]
cpus = os.cpu_count() or 1
print(f"Commit {commit}, {time.strftime('%Y-%m-%d %H:%M %Z')}, {cpus} CPUs, load average {load:.1f}.")
if load > cpus:
    print(f"**Warning: load average {load:.1f} exceeds {cpus} CPUs: wall-clock medians are inflated "
          "and ratios between benches measured at different moments are noisy.**")
print()

def median(bench):
    path = os.path.join(root, bench, "new", "estimates.json")
    try:
        with open(path) as f:
            return json.load(f)["median"]["point_estimate"]
    except FileNotFoundError:
        return None

def fmt_time(ns):
    if ns is None:
        return "n/a"
    for unit, scale in (("s", 1e9), ("ms", 1e6), ("µs", 1e3)):
        if ns >= scale:
            return f"{ns / scale:.3g} {unit}"
    return f"{ns:.3g} ns"

def ops(ns):
    return "n/a" if ns is None else f"{1e9 / ns:,.0f}"

rows = [
    ("seal_10x32B_rsa2048", "seal 10×32 B, RSA-2048"),
    ("unseal_10x32B_rsa2048", "unseal 10×32 B, RSA-2048, 1-key ring"),
    ("rsa_oaep_decrypt_rsa2048", "raw RSA-OAEP-SHA256 decrypt (aws-lc-rs), RSA-2048"),
    ("seal_10x32B_rsa4096", "seal 10×32 B, RSA-4096"),
    ("unseal_10x32B_rsa4096", "unseal 10×32 B, RSA-4096, 1-key ring"),
    ("rsa_oaep_decrypt_rsa4096", "raw RSA-OAEP-SHA256 decrypt (aws-lc-rs), RSA-4096"),
    ("unseal_24keys_nohint_rsa2048", "unseal 10×32 B, 24-key ring, sealed by oldest, no hint"),
    ("unseal_24keys_hint_rsa2048", "unseal 10×32 B, 24-key ring, sealed by oldest, key hint"),
]
m = {bench: median(bench) for bench, _ in rows}

print("| op | bench id | median | ops/s |")
print("| --- | --- | ---: | ---: |")
for bench, what in rows:
    print(f"| {what} | `{bench}` | {fmt_time(m[bench])} | {ops(m[bench])} |")

def ratio(num, den, scale=1):
    if m[num] is None or m[den] is None:
        return "n/a"
    return f"{m[num] / (scale * m[den]):.2f}x"

print()
print("| ratio (same run) | value | target |")
print("| --- | ---: | --- |")
print(f"| unseal RSA-2048 / (10 × raw decrypt RSA-2048) | {ratio('unseal_10x32B_rsa2048', 'rsa_oaep_decrypt_rsa2048', 10)} | ≤ 1.20x |")
print(f"| unseal RSA-4096 / (10 × raw decrypt RSA-4096) | {ratio('unseal_10x32B_rsa4096', 'rsa_oaep_decrypt_rsa4096', 10)} | ≤ 1.20x |")
print(f"| 24-key ring, no hint / 1-key ring | {ratio('unseal_24keys_nohint_rsa2048', 'unseal_10x32B_rsa2048')} | (33 decrypts vs 10: ≈ 3.3x expected) |")
print(f"| 24-key ring, key hint / 1-key ring | {ratio('unseal_24keys_hint_rsa2048', 'unseal_10x32B_rsa2048')} | ≈ 1.00x (flat) |")
PY
