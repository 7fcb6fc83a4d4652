#!/usr/bin/env bash
# `kubeseal lint` on 10,000 SealedSecret files (one each, three values and a template item,
# as `kubeseal` writes them), against reading the same files with `cat` in the same run.
# Prints a Markdown table: median and min wall time of RUNS runs, files per second, and the
# ratio to `cat`. Target: structural checks of 10,000 files in under 2 s on 2 cores.
#
# Usage: bench/lint.sh [RUNS] [FILES]   (default 5 runs, 10000 files). Release build.
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${1:-5}
FILES=${2:-10000}
CERT=crates/seal/tests/fixtures/compat/keys/rsa2048/tls.crt
KEY=crates/seal/tests/fixtures/compat/keys/rsa2048/tls.key

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

echo "== building the release binary" >&2
cargo build --release --quiet --locked -p kubeseal
target_dir=$(cargo metadata --format-version 1 --no-deps | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')
KUBESEAL="$target_dir/release/kubeseal"

echo "== generating $FILES files" >&2
printf 'apiVersion: v1\nkind: Secret\nmetadata:\n  name: NAME\n  namespace: bench\nstringData:\n  user: admin\n  password: correct-horse-battery-staple\n  host: db.example.com\n' \
  | "$KUBESEAL" --cert "$CERT" -o yaml > "$tmp/one.yaml"
# A template item too, so the template check runs on every file.
sed -i 's/^  template:$/  template:\n    data:\n      url: "postgres:\/\/{{ .user }}:{{ .password }}@{{ .host }}\/app"/' "$tmp/one.yaml"
mkdir -p "$tmp/tree"
python3 - "$tmp/one.yaml" "$tmp/tree" "$FILES" <<'PY'
import os, sys
text = open(sys.argv[1]).read()
root, n = sys.argv[2], int(sys.argv[3])
for i in range(n):
    d = os.path.join(root, f"team-{i % 100:02d}")
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, f"secret-{i:05d}.yaml"), "w") as f:
        f.write(text.replace("NAME", f"secret-{i:05d}"))
PY
"$KUBESEAL" lint "$tmp/tree" >/dev/null 2>&1 || { echo "bench: the generated tree is not clean" >&2; "$KUBESEAL" lint "$tmp/tree" | head >&2; exit 1; }

# Median and min of RUNS runs of "$@", in seconds.
measure() {
  local times=()
  for _ in $(seq "$RUNS"); do
    local start end
    start=$(date +%s.%N)
    "$@" >/dev/null 2>&1 || true
    end=$(date +%s.%N)
    times+=("$(echo "$end - $start" | bc -l)")
  done
  printf '%s\n' "${times[@]}" | sort -n | awk '{a[NR]=$1} END {printf "%.3f %.3f\n", a[int((NR+1)/2)], a[1]}'
}

cat_all() { find "$tmp/tree" -name '*.yaml' -print0 | xargs -0 cat > /dev/null; }

echo "== measuring ($RUNS runs each)" >&2
read -r cat_med cat_min < <(measure cat_all)
rows=()
for case in "lint (structural)|lint $tmp/tree" \
            "lint -j 1 (one thread)|lint -j 1 $tmp/tree" \
            "lint --cert (annotation + key size)|lint --cert $CERT $tmp/tree" \
            "keys list --usage|keys list --keyring $(dirname "$KEY") --usage $tmp/tree"; do
  name=${case%%|*}
  read -r -a args <<< "${case#*|}"
  read -r med min < <(measure "$KUBESEAL" "${args[@]}")
  rows+=("$name|$med|$min")
done

echo "| $FILES files | median s | min s | files/s (median) | x cat |"
echo "| --- | ---: | ---: | ---: | ---: |"
printf '| cat (baseline) | %s | %s | %.0f | 1.0 |\n' "$cat_med" "$cat_min" "$(echo "$FILES / $cat_med" | bc -l)"
for row in "${rows[@]}"; do
  IFS='|' read -r name med min <<< "$row"
  printf '| %s | %s | %s | %.0f | %.1f |\n' "$name" "$med" "$min" \
    "$(echo "$FILES / $med" | bc -l)" "$(echo "$med / $cat_med" | bc -l)"
done
echo
echo "cores: $(nproc); target: lint (structural) under 2 s"
