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
set -euo pipefail
cd "$(dirname "$0")/.."

# The memory scenario runs these two as separate processes.
cargo build --release --quiet -p sealed-secrets-controller --bin sealed-secrets-controller \
    -p fake-apiserver --example serve
cargo bench --quiet -p sealed-secrets-controller --bench controller -- "${@:-all}"
