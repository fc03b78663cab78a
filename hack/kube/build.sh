#!/usr/bin/env bash
# Builds kube-apiserver, kube-controller-manager and etcd at the Kubernetes version pinned in
# hack/kube/go.mod into a cache outside the clone, only when they are missing there.
#
#   hack/kube/build.sh            build if missing, print the directory holding the binaries
#   hack/kube/build.sh --print    print that directory and exit (1 when the binaries are missing)
#
# The directory is $DRSYNCER_KUBE_CACHE (default ${XDG_CACHE_HOME:-~/.cache}/drsyncer/kube)/<version>.
# Tests find binaries through KUBEBUILDER_ASSETS first (envtest's variable), then this cache.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"

version=$(awk '$1 == "require" { $1 = "" ; $0 = $0 } $1 == "k8s.io/kubernetes" && $2 ~ /^v/ {print $2; exit}' "$here/go.mod")
[ -n "$version" ] || { echo "no k8s.io/kubernetes requirement in $here/go.mod" >&2; exit 2; }
cache_root="${DRSYNCER_KUBE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/drsyncer/kube}"
out="$cache_root/$version"
binaries=(etcd kube-apiserver kube-controller-manager)

have_all() {
    local b
    for b in "${binaries[@]}"; do [ -x "$out/$b" ] || return 1; done
}

if [ "${1:-}" = "--print" ]; then
    have_all && { echo "$out"; exit 0; }
    exit 1
fi

if have_all; then
    echo "control-plane binaries for Kubernetes $version already in $out" >&2
    echo "$out"
    exit 0
fi

if ! command -v go >/dev/null 2>&1; then
    echo "go not found: cannot build the control-plane binaries (the real-backend tests will skip)" >&2
    exit 2
fi

# the machine's own toolchain and proxy settings; a parent go.work must not take over this module
export GOTOOLCHAIN=local GOWORK=off CGO_ENABLED=0
major_minor=${version#v}; major=${major_minor%%.*}; minor=${major_minor#*.}; minor=${minor%%.*}
ldflags="-s -w"
for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    ldflags="$ldflags -X $pkg.gitVersion=$version -X $pkg.gitMajor=$major -X $pkg.gitMinor=$minor"
    ldflags="$ldflags -X $pkg.gitTreeState=clean -X $pkg.buildDate=1970-01-01T00:00:00Z"
done

work="$out.partial"
rm -rf "$work"
mkdir -p "$work"
start=$(date +%s)
echo "building kube-apiserver and kube-controller-manager $version into $out (cold: about 15-25 min on 2 cores)" >&2
(cd "$here" && go build -trimpath -tags=selinux,notest,grpcnotrace -ldflags="$ldflags" -o "$work/" \
    k8s.io/kubernetes/cmd/kube-apiserver k8s.io/kubernetes/cmd/kube-controller-manager)
echo "building etcd (the version Kubernetes $version requires)" >&2
(cd "$here" && go build -trimpath -ldflags="-s -w" -o "$work/etcd" go.etcd.io/etcd/server/v3)
# publish all three at once so a half-finished build is never taken for a cached one
rm -rf "$out"
mv "$work" "$out"
elapsed=$(( $(date +%s) - start ))
echo "built in ${elapsed}s:" >&2
(cd "$out" && ls -l "${binaries[@]}" | awk '{printf "  %-26s %6.1f MiB\n", $9, $5 / 1048576}') >&2
echo "$out"
