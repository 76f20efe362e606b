#!/usr/bin/env bash
# Installs everything dpictl needs on a fresh Debian/Ubuntu machine, from scratch; safe to rerun.
#   scripts/setup.sh          Debian packages + .venv with dpictl (what `dpictl run-lab` needs)
#   scripts/setup.sh --test   the same, plus the test extras, Suricata 7 (the tests run it),
#                             tcpreplay and the test kube-apiserver
#   scripts/setup.sh --suricata   the first, plus Suricata 7 for `--engine suricata`
#   scripts/setup.sh --bench  the first, plus what benchmarks/ runs: tcpreplay,
#                             editcap/mergecap/capinfos (wireshark-common) and Suricata
# Run as root (the local backend makes network namespaces; the tests do too).
set -euo pipefail
cd "$(dirname "$0")/.."

want_test=0 want_bench=0 want_suricata=0
for arg in "$@"; do
    case "$arg" in
        --test) want_test=1; want_suricata=1 ;;
        --bench) want_bench=1; want_suricata=1 ;;
        --suricata) want_suricata=1 ;;
        *) echo "usage: scripts/setup.sh [--test] [--suricata] [--bench]" >&2; exit 2 ;;
    esac
done

as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

echo "==> Debian packages"
# util-linux and mount: unshare, nsenter, setpriv and mount confine the local backend's pods.
# nftables: a `ct state` rule in the node netns makes the kernel keep the conntrack entries
# the flow logs are read from.
export DEBIAN_FRONTEND=noninteractive
as_root apt-get -o DPkg::Lock::Timeout=600 update -q >/dev/null
as_root apt-get -o DPkg::Lock::Timeout=600 install -y -q --no-install-recommends \
    python3 python3-venv python3-dev gcc iproute2 iputils-ping curl procps ca-certificates graphviz \
    tshark \
    util-linux mount nftables \
    >/dev/null

if [ "$want_test" = 1 ] || [ "$want_bench" = 1 ]; then
    # tcpreplay feeds the live benchmark (its own test replays a small pcap through it);
    # editcap/mergecap/capinfos (wireshark-common) build the bench pcap.
    bench_pkgs=tcpreplay
    [ "$want_bench" = 1 ] && bench_pkgs="tcpreplay wireshark-common"
    echo "==> $bench_pkgs"
    as_root apt-get -o DPkg::Lock::Timeout=600 install -y -q --no-install-recommends \
        $bench_pkgs >/dev/null
fi

if [ "$want_suricata" = 1 ]; then
    # Suricata 7 (bookworm-backports): the engine behind `--engine suricata`, and the oracle
    # the differential tests run dpictl against.
    if ! command -v suricata >/dev/null 2>&1; then
        echo "==> suricata 7 (--engine suricata; the reference engine for the tests)"
        if grep -q 'VERSION_CODENAME=bookworm' /etc/os-release 2>/dev/null \
           && ! grep -rqs 'bookworm-backports' /etc/apt/sources.list /etc/apt/sources.list.d/; then
            echo 'deb http://deb.debian.org/debian bookworm-backports main' \
                | as_root tee /etc/apt/sources.list.d/bookworm-backports.list >/dev/null
            as_root apt-get -o DPkg::Lock::Timeout=600 update -q >/dev/null
        fi
        if grep -q 'VERSION_CODENAME=bookworm' /etc/os-release 2>/dev/null; then
            as_root apt-get -o DPkg::Lock::Timeout=600 install -y -q -t bookworm-backports \
                suricata >/dev/null
        else
            as_root apt-get -o DPkg::Lock::Timeout=600 install -y -q suricata >/dev/null
        fi
    fi
fi

echo "==> Python environment (.venv)"
PY=${PYTHON:-python3}
[ -x .venv/bin/python ] || "$PY" -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip 2>&1 | grep -v '^WARNING: Location' || true
if [ "$want_test" = 1 ]; then extras='.[test]'; else extras='.'; fi
.venv/bin/python -m pip install -q -e "$extras" 2>&1 | grep -v '^WARNING: Location' || true
.venv/bin/dpictl --version

if [ "$want_test" = 1 ] && [ -f .ci/kube-apiserver.sh ]; then
    echo "==> test kube-apiserver (built once from Debian's source package, then reused)"
    as_root bash .ci/kube-apiserver.sh
fi
