#!/usr/bin/env bash
# Build (once) and start (once) a real kube-apiserver + etcd on loopback for the kubernetes
# backend's tests, and print the path of its kubeconfig.
#
#   .ci/kube-apiserver.sh [start]     build if needed, start if not running, print kubeconfig path
#   .ci/kube-apiserver.sh stop        stop what start started
#   source .ci/kube-apiserver.sh      same as start, and also exports DPICTL_TEST_KUBECONFIG
#
# The tests under tests/backends/kubernetes/ read DPICTL_TEST_KUBECONFIG and are skipped only
# when it is unset. Idempotent: the build is skipped when $PREFIX/bin/kube-apiserver runs, the
# start when the server in $DIR already answers /readyz.
#
# Kubernetes 1.20.2 is built from Debian's source package (its Go dependencies are vendored),
# so it needs only Debian's registry: about 5-7 minutes on 2 cores the first time. Unlike a bare
# test server it runs with --authorization-mode=RBAC, so tests can get real 403s by
# impersonating an unprivileged user. No kubelet, scheduler or controller-manager: pods stay
# Pending until a test patches their status, deleted namespaces stay Terminating.
#
# Environment: DPICTL_KUBE_PREFIX (/opt/dpictl-kube), DPICTL_KUBE_DIR (/tmp/dpictl-kube),
# DPICTL_KUBE_PORT (16443; etcd uses PORT+1 and PORT+2). Needs root (apt) for the build.

PREFIX=${DPICTL_KUBE_PREFIX:-/opt/dpictl-kube}
DIR=${DPICTL_KUBE_DIR:-/tmp/dpictl-kube}
PORT=${DPICTL_KUBE_PORT:-16443}
BIN="$PREFIX/bin/kube-apiserver"

_dk_apt() { apt-get -o DPkg::Lock::Timeout=600 "$@"; }

_dk_build() {
  if [ -x "$BIN" ] && "$BIN" --version >/dev/null 2>&1; then
    command -v etcd >/dev/null || _dk_apt install -y -qq etcd-server >/dev/null
    return 0
  fi
  echo "building kube-apiserver into $PREFIX (5-7 minutes)..." >&2
  cat > /etc/apt/sources.list.d/dpictl-src.sources <<'S'
Types: deb-src
URIs: http://deb.debian.org/debian
Suites: bookworm
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
S
  if ! grep -rqs bookworm-backports /etc/apt/sources.list /etc/apt/sources.list.d/; then
    cat > /etc/apt/sources.list.d/dpictl-backports.sources <<'S'
Types: deb
URIs: http://deb.debian.org/debian
Suites: bookworm-backports
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
S
  fi
  _dk_apt update -qq
  _dk_apt install -y -qq etcd-server golang-1.23-go/bookworm-backports \
    golang-github-modern-go-reflect2-dev rsync dpkg-dev openssl curl >/dev/null
  local work; work=$(mktemp -d)
  (
    cd "$work"
    _dk_apt source -qq kubernetes >/dev/null 2>&1
    cd kubernetes-*/
    # the vendored reflect2 1.0.1 crashes with Go >= 1.18; Debian's 1.0.2 works
    rm -rf vendor/github.com/modern-go/reflect2
    cp -r /usr/share/gocode/src/github.com/modern-go/reflect2 vendor/github.com/modern-go/
    rm -f vendor/github.com/modern-go/reflect2/go.mod
    PATH=/usr/lib/go-1.23/bin:$PATH GOTOOLCHAIN=local GOPROXY=off GOFLAGS= CGO_ENABLED=0 \
      make WHAT=cmd/kube-apiserver GOFLAGS=-tags=providerless GOLDFLAGS='-s -w' >/dev/null
    mkdir -p "$PREFIX/bin"
    install -m755 _output/bin/kube-apiserver "$BIN"
  )
  rm -rf "$work" /etc/apt/sources.list.d/dpictl-src.sources
}

_dk_ready() {
  [ -f "$DIR/kubeconfig" ] && [ -f "$DIR/pki/admin.token" ] || return 1
  curl -s --max-time 2 --cacert "$DIR/certs/apiserver.crt" \
    -H "Authorization: Bearer $(cat "$DIR/pki/admin.token")" \
    "https://127.0.0.1:$PORT/readyz" 2>/dev/null | grep -qx ok
}

# Stop the apiserver, then etcd; each gets 10 s after SIGTERM, then SIGKILL, so that when
# this returns their ports are free and nothing of them runs.
_dk_stop() {
  local p pid
  for p in apiserver etcd; do
    [ -f "$DIR/$p.pid" ] || continue
    pid=$(cat "$DIR/$p.pid")
    if kill "$pid" 2>/dev/null; then
      for _ in $(seq 1 100); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
      done
      kill -9 "$pid" 2>/dev/null || true
    fi
    rm -f "$DIR/$p.pid"
  done
}

_dk_start() {
  _dk_stop
  local e1=$((PORT + 1)) e2=$((PORT + 2)) token
  rm -rf "$DIR/etcd" "$DIR/certs"
  mkdir -p "$DIR/etcd" "$DIR/certs" "$DIR/pki"
  if [ ! -f "$DIR/pki/sa.key" ]; then
    openssl genrsa -out "$DIR/pki/sa.key" 2048 2>/dev/null
    openssl rsa -in "$DIR/pki/sa.key" -pubout -out "$DIR/pki/sa.pub" 2>/dev/null
  fi
  token=$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')
  echo "$token" > "$DIR/pki/admin.token"
  echo "$token,dpictl-test,1000,system:masters" > "$DIR/pki/tokens.csv"
  etcd --name test --data-dir "$DIR/etcd" \
    --listen-client-urls "http://127.0.0.1:$e1" --advertise-client-urls "http://127.0.0.1:$e1" \
    --listen-peer-urls "http://127.0.0.1:$e2" --initial-advertise-peer-urls "http://127.0.0.1:$e2" \
    --initial-cluster "test=http://127.0.0.1:$e2" > "$DIR/etcd.log" 2>&1 &
  echo $! > "$DIR/etcd.pid"
  "$BIN" --etcd-servers="http://127.0.0.1:$e1" \
    --bind-address=127.0.0.1 --advertise-address=127.0.0.1 --secure-port="$PORT" \
    --cert-dir="$DIR/certs" \
    --service-account-issuer=https://kubernetes.default.svc \
    --service-account-key-file="$DIR/pki/sa.pub" \
    --service-account-signing-key-file="$DIR/pki/sa.key" \
    --service-cluster-ip-range=10.96.0.0/16 --token-auth-file="$DIR/pki/tokens.csv" \
    --authorization-mode=RBAC --disable-admission-plugins=ServiceAccount \
    --enable-priority-and-fairness=false > "$DIR/apiserver.log" 2>&1 &
  echo $! > "$DIR/apiserver.pid"
  cat > "$DIR/kubeconfig" <<K
apiVersion: v1
kind: Config
clusters:
- name: dpictl-test
  cluster: {server: "https://127.0.0.1:$PORT", certificate-authority: "$DIR/certs/apiserver.crt"}
users:
- name: dpictl-test
  user: {token: "$token"}
contexts:
- name: dpictl-test
  context: {cluster: dpictl-test, user: dpictl-test}
current-context: dpictl-test
K
  for _ in $(seq 1 600); do
    _dk_ready && return 0
    sleep 0.1
  done
  echo "kube-apiserver not ready after 60 s; see $DIR/apiserver.log" >&2
  return 1
}

_dk_main() {
  case "${1:-start}" in
    stop) _dk_stop ;;
    start)
      _dk_build
      _dk_ready || _dk_start
      DPICTL_TEST_KUBECONFIG="$DIR/kubeconfig"
      export DPICTL_TEST_KUBECONFIG
      echo "$DPICTL_TEST_KUBECONFIG" ;;
    *) echo "usage: $0 [start|stop]" >&2; return 2 ;;
  esac
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
  set -euo pipefail
  _dk_main "$@"
else
  # sourced: run in a child shell so `set -e` never leaks into the caller, then export
  DPICTL_TEST_KUBECONFIG=$(bash "${BASH_SOURCE[0]}" "${1:-start}") && export DPICTL_TEST_KUBECONFIG
fi
