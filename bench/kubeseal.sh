#!/usr/bin/env bash
# Whole-process time to seal one 10-value Secret with a 2048-bit certificate, side by side:
#   - this repo's `kubeseal` (release build),
#   - kubesealpy (PyPI; a library without a working CLI, driven by a 10-line script),
#   - @linode/kubeseal-encrypt (npm; a library taking a public key, driven by a small script),
#   - upstream Go kubeseal v0.36.6 (deploy/tools.sh kubeseal-go installs it once into a cache;
#     KUBESEAL_GO=/path/to/kubeseal uses another),
#   - /bin/true: the cost of starting any process, measured in the same run as the floor.
# Prints a Markdown table: median and min wall time per run, peak RSS, how many times slower
# each tool is than ours and than /bin/true, and ours versus the fastest other tool of the run.
# Ours is the shipped static binary (deploy/build-static). Target: ours <= 2x /bin/true.
#
# Needs: cargo, go, python3 (venv + pip), node + npm, openssl, GNU time (/usr/bin/time).
# Usage: bench/kubeseal.sh [RUNS]   (default 50). Installs everything into a temp dir.
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${1:-50}
WARMUP=3
TIME=/usr/bin/time

for tool in cargo python3 node npm openssl "$TIME"; do
  command -v "$tool" >/dev/null || { echo "bench: $tool is required" >&2; exit 1; }
done

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# A cluster's certificate, as users seal with (the development one in keys/ makes kubeseal warn).
CERT=$tmp/cluster.crt
openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj "/CN=sealed-secret/O=sealed-secret" \
  -keyout "$tmp/cluster.key" -out "$CERT" 2> /dev/null

echo "== building the static release binaries" >&2
OURS=$(deploy/build-static)/kubeseal
KUBESEAL_GO=${KUBESEAL_GO:-$(deploy/tools.sh kubeseal-go)}

# The input: one Secret, ten values, YAML (and the same as JSON for the npm driver).
{
  printf 'apiVersion: v1\nkind: Secret\nmetadata:\n  name: bench\n  namespace: default\ntype: Opaque\nstringData:\n'
  for i in $(seq 0 9); do printf '  key%d: value-number-%d-abcdefghijklmnopqrstuvwxyz\n' "$i" "$i"; done
} > "$tmp/secret.yaml"
python3 - "$tmp/secret.yaml" > "$tmp/secret.json" <<'EOF'
import json, sys
lines = open(sys.argv[1]).read().splitlines()
data = dict(l.strip().split(": ", 1) for l in lines[lines.index("stringData:") + 1:])
print(json.dumps({"apiVersion": "v1", "kind": "Secret", "type": "Opaque",
                  "metadata": {"name": "bench", "namespace": "default"}, "stringData": data}))
EOF
openssl x509 -in "$CERT" -noout -pubkey > "$tmp/pubkey.pem"

echo "== installing kubesealpy (pip, temp venv)" >&2
python3 -m venv "$tmp/venv"
"$tmp/venv/bin/pip" install -q --disable-pip-version-check kubesealpy
cat > "$tmp/kubesealpy_seal.py" <<'EOF'
# kubesealpy ships no working CLI (its console script points at a missing module): seal
# stdin's Secret with its documented API, print the SealedSecret as YAML.
import sys, yaml
from kubesealpy import Sealer
secret = yaml.safe_load(sys.stdin)
meta = secret["metadata"]
data = {k: v.encode() for k, v in secret.get("stringData", {}).items()}
sealer = Sealer.from_certificate_file(sys.argv[1])
print(sealer.seal(name=meta["name"], namespace=meta["namespace"], data=data).to_yaml())
EOF

echo "== installing @linode/kubeseal-encrypt (npm, temp dir)" >&2
mkdir -p "$tmp/npm"
(cd "$tmp/npm" && npm init -y >/dev/null && npm install --silent --no-audit --no-fund @linode/kubeseal-encrypt >/dev/null)
cat > "$tmp/npm/seal.cjs" <<'EOF'
// @linode/kubeseal-encrypt is a library (no CLI) that takes a PUBLIC KEY PEM and seals one
// value namespace-wide: seal every stringData value of stdin's JSON Secret, print a
// SealedSecret as JSON. It is given the public key pre-extracted and JSON input (no YAML
// parser in it), both in its favour.
const { encryptSecretItem } = require('@linode/kubeseal-encrypt');
const fs = require('fs');
(async () => {
  const pem = fs.readFileSync(process.argv[2], 'utf8');
  const secret = JSON.parse(fs.readFileSync(0, 'utf8'));
  const ns = secret.metadata.namespace;
  const encryptedData = {};
  for (const [k, v] of Object.entries(secret.stringData)) {
    encryptedData[k] = await encryptSecretItem(pem, ns, v);
  }
  const annotations = { 'sealedsecrets.bitnami.com/namespace-wide': 'true' };
  console.log(JSON.stringify({
    apiVersion: 'bitnami.com/v1alpha1', kind: 'SealedSecret',
    metadata: { name: secret.metadata.name, namespace: ns, annotations },
    spec: { encryptedData, template: { metadata: { name: secret.metadata.name, namespace: ns, annotations } } },
  }, null, 2));
})();
EOF

names=(); cmds=(); inputs=()
add() { names+=("$1"); inputs+=("$2"); cmds+=("$3"); }
add "kubeseal (this repo, Rust)" "$tmp/secret.yaml" "$OURS --cert $CERT"
add "kubesealpy $("$tmp/venv/bin/pip" show kubesealpy | sed -n 's/^Version: //p') (Python)" "$tmp/secret.yaml" "$tmp/venv/bin/python $tmp/kubesealpy_seal.py $CERT"
add "@linode/kubeseal-encrypt $(node -p "require('$tmp/npm/node_modules/@linode/kubeseal-encrypt/package.json').version") (Node $(node --version))" "$tmp/secret.json" "node $tmp/npm/seal.cjs $tmp/pubkey.pem"
add "upstream kubeseal ($("$KUBESEAL_GO" --version | sed 's/kubeseal version: //'), Go)" "$tmp/secret.yaml" "$KUBESEAL_GO --cert $CERT"
# The floor: starting a process that does nothing. Last, and not a sealing tool.
add "/bin/true (process start, the floor)" "$tmp/secret.yaml" "/bin/true"
floor=$((${#names[@]} - 1))

# Every tool's output must unseal to the input with the dev key (a compatibility check too).
echo "== checking outputs" >&2
for i in "${!names[@]}"; do
  (( i == floor )) && continue
  ${cmds[$i]} < "${inputs[$i]}" > "$tmp/out.$i"
  "$OURS" --recovery-unseal --recovery-private-key "$tmp/cluster.key" -o json < "$tmp/out.$i" \
    | grep -q '"key9": "dmFsdWUtbnVtYmVyLTktYWJjZGVmZ2hpamtsbW5vcHFyc3R1dnd4eXo="' \
    || { echo "bench: output of ${names[$i]} does not unseal to the input" >&2; exit 1; }
done

measure() { # $1 = index; prints "median min rss_mb"
  local i=$1 t0 t1 k samples=()
  for ((k = 0; k < WARMUP; k++)); do ${cmds[$i]} < "${inputs[$i]}" > /dev/null; done
  for ((k = 0; k < RUNS; k++)); do
    t0=$EPOCHREALTIME
    ${cmds[$i]} < "${inputs[$i]}" > /dev/null
    t1=$EPOCHREALTIME
    samples+=("$(( (${t1/./} - ${t0/./}) ))") # microseconds
  done
  local rss=0 r
  for ((k = 0; k < 5; k++)); do
    r=$("$TIME" -f %M ${cmds[$i]} < "${inputs[$i]}" 2>&1 > /dev/null | tail -1)
    (( r > rss )) && rss=$r
  done
  printf '%s\n' "${samples[@]}" | sort -n | awk -v rss="$rss" \
    '{ a[NR] = $1 } END { m = (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2;
       printf "%.2f %.2f %.1f\n", m / 1000, a[1] / 1000, rss / 1024 }'
}

echo "== measuring ($RUNS runs each after $WARMUP warm-up runs)" >&2
results=()
for i in "${!names[@]}"; do results+=("$(measure "$i")"); done

ours=${results[0]%% *}
fastest_other=""
for i in "${!names[@]}"; do
  (( i == 0 || i == floor )) && continue
  m=${results[$i]%% *}
  if [[ -z "$fastest_other" ]] || awk -v a="$m" -v b="$fastest_other" 'BEGIN { exit !(a < b) }'; then
    fastest_other=$m
  fi
done

echo
echo "Seal one 10-value Secret, 2048-bit certificate, $RUNS runs, $(nproc) CPUs, $(uname -sm):"
echo
floor_ms=${results[$floor]%% *}
echo "| tool | median ms | min ms | peak RSS MB | time vs ours | time vs /bin/true |"
echo "| --- | ---: | ---: | ---: | ---: | ---: |"
for i in "${!names[@]}"; do
  read -r med min rss <<< "${results[$i]}"
  ratio=$(awk -v a="$med" -v b="$ours" 'BEGIN { printf "%.1fx", a / b }')
  vs_true=$(awk -v a="$med" -v b="$floor_ms" 'BEGIN { printf "%.1fx", a / b }')
  echo "| ${names[$i]} | $med | $min | $rss | $ratio | $vs_true |"
done
echo
awk -v a="$fastest_other" -v b="$ours" \
  'BEGIN { printf "Ours is %.1fx faster than the fastest other tool measured in this run.\n", a / b }'
awk -v a="$ours" -v b="$floor_ms" \
  'BEGIN { r = a / b; printf "Ours takes %.2fx the time of /bin/true (target: at most 2x): %s.\n", r, (r <= 2 ? "met" : "NOT met") }'
