#!/usr/bin/env bash
# Controller benchmark: unseal throughput against the fake API server (1 and 24 keys, RSA-2048
# and RSA-4096, as a ratio to the raw RSA-OAEP decrypt rate measured in the same run), API
# requests per object, and the release binary's resident memory with 10,000 SealedSecrets.
# Prints a markdown table on stdout; progress goes to stderr.
#
#   bench/controller.sh                     # everything (about 5-10 minutes on 2 cores, first
#                                           # run longer: 48 keys are generated and cached)
#   bench/controller.sh throughput          # or: memory
#   bench/controller.sh all --objects 500 --memory-objects 2000 --bits 2048
#
# Real-API-server mode: upstream's controller (the pinned release, installed with `go install`)
# and ours one after the other on the real test control plane (etcd + kube-apiserver, see
# tests/README.md), same keys and objects: time until all synced, rate, CPU, peak RSS, API
# requests per object and the API server's CPU; then ours alone with 10,000 objects.
#
#   bench/controller.sh real                # compare + big (upstream is slow: allow an hour)
#   bench/controller.sh real compare --objects 500 --bits 2048,4096 --keys 24
#   bench/controller.sh real big --big 10000
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "${1:-}" = real ]; then
  shift
  cargo build --release --quiet --locked -p kubeseal -p sealed-secrets-controller --bins
  cargo bench --quiet --locked -p interop --bench real_server -- "${@:-all}"
  exit
fi

# The memory scenario runs these two as separate processes.
cargo build --release --quiet -p sealed-secrets-controller --bin sealed-secrets-controller \
    -p fake-apiserver --example serve
cargo bench --quiet -p sealed-secrets-controller --bench controller -- "${@:-all}"
