#!/usr/bin/env bash
# Installs a pinned tool from the Go module registry into a per-version cache outside the
# repository (once), then prints its path:
#   deploy/tools.sh helm           # helm v4, for the chart's tests
#   deploy/tools.sh kubeseal-go    # upstream's Go kubeseal, for bench/kubeseal.sh
# Cache: $SEALED_SECRETS_TOOLS, else ${XDG_CACHE_HOME:-$HOME/.cache}/sealed-secrets-rs/tools.
# The versions below are read by tests/shipping/build.rs too: keep the `NAME=vX.Y.Z` form.
set -euo pipefail
HELM_VERSION=v4.3.2
KUBESEAL_GO_VERSION=v0.36.6

cache=${SEALED_SECRETS_TOOLS:-${XDG_CACHE_HOME:-$HOME/.cache}/sealed-secrets-rs/tools}
case "${1:-}" in
  helm) dir=$cache/helm-$HELM_VERSION bin=helm module=helm.sh/helm/v4/cmd/helm@$HELM_VERSION ;;
  kubeseal-go) dir=$cache/kubeseal-$KUBESEAL_GO_VERSION bin=kubeseal
    module=github.com/bitnami-labs/sealed-secrets/cmd/kubeseal@$KUBESEAL_GO_VERSION ;;
  *) echo "usage: $0 helm|kubeseal-go" >&2; exit 2 ;;
esac
if [[ ! -x $dir/$bin ]]; then
  command -v go >/dev/null || { echo "tools.sh: go is needed to install $module" >&2; exit 1; }
  echo "tools.sh: installing $module into $dir" >&2
  mkdir -p "$dir"
  # Into a temporary directory first: an interrupted build never leaves a broken binary.
  tmp=$(mktemp -d "$dir.XXXXXX")
  trap 'rm -rf "$tmp"' EXIT
  GOBIN=$tmp go install "$module" >&2
  mv "$tmp/$bin" "$dir/$bin"
fi
echo "$dir/$bin"
