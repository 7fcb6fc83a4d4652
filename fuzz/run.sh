#!/usr/bin/env bash
# Runs every fuzz target (or those named) for a bounded time, one after another.
#   fuzz/run.sh                      # all targets, 300 s each
#   SECONDS_PER_TARGET=60 fuzz/run.sh unseal read_keys
# New corpus entries go to fuzz/corpus/<target> (git-ignored); crashes to fuzz/artifacts/<target>;
# logs to fuzz/logs/<target>.log. Seeds in fuzz/seeds/<target> are read, never written.
set -euo pipefail
cd "$(dirname "$0")"
seconds="${SECONDS_PER_TARGET:-300}"
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(open_value read_manifests read_keys unseal render_template render_budget)
mkdir -p logs
cargo +nightly fuzz build
for t in "${targets[@]}"; do
  mkdir -p "corpus/$t"
  echo "== $t (${seconds}s)"
  # -timeout: one input taking over 10 s is a hang; -malloc_limit_mb: one allocation over
  # 256 MiB is a bug for inputs this small.
  if cargo +nightly fuzz run "$t" "corpus/$t" "seeds/$t" -- \
      -max_total_time="$seconds" -timeout=10 -rss_limit_mb=1024 -malloc_limit_mb=256 \
      -print_final_stats=1 >"logs/$t.log" 2>&1; then
    echo "   ok: $(grep -E '^stat::number_of_executed_units' "logs/$t.log" | awk '{print $2}') executions"
  else
    echo "   FAILED: see fuzz/logs/$t.log and fuzz/artifacts/$t/"
  fi
done
