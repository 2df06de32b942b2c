# Shared set-up for the scripts: make sure the machine has what ZMesh needs.
# Sourced, not run.

as_root() {
    if [ "$(id -u)" -eq 0 ]; then "$@"; elif command -v sudo >/dev/null 2>&1; then sudo "$@"; else
        echo "need root to run: $*" >&2; return 1
    fi
}

# libzmq with its headers and pkg-config file (Debian: libzmq3-dev).
ensure_libzmq() {
    if pkg-config --exists libzmq 2>/dev/null; then return 0; fi
    echo "==> installing libzmq3-dev"
    as_root apt-get update -qq
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq libzmq3-dev pkg-config >/dev/null
    pkg-config --exists libzmq || { echo "libzmq3-dev did not install" >&2; return 1; }
}

# pyzmq, for test peers that stand in for clients in other languages.
ensure_pyzmq() {
    if python3 -c 'import zmq' 2>/dev/null; then return 0; fi
    echo "==> installing pyzmq"
    python3 -m pip install --quiet pyzmq 2>/dev/null || python3 -m pip install --quiet --break-system-packages pyzmq
}

# majortomo 0.2.0 (PyPI), the main Python Majordomo library, unmodified: the Majordomo tests
# run its Client and Worker against the broker (Tests/Peers/majortomo_*.py). Pinned: its
# framing is what the broker's majortomo dialect follows (docs/INTEROP.md).
ensure_majortomo() {
    ensure_pyzmq
    if python3 -c 'import majortomo, sys; from importlib.metadata import version; sys.exit(version("majortomo") != "0.2.0")' 2>/dev/null; then
        return 0
    fi
    echo "==> installing majortomo 0.2.0"
    python3 -m pip install --quiet majortomo==0.2.0 2>/dev/null \
        || python3 -m pip install --quiet --break-system-packages majortomo==0.2.0
    python3 -c 'import majortomo' || { echo "majortomo did not install" >&2; return 1; }
}

# Installs Debian package $1 (which gives command $2) without starting its service: a
# temporary policy-rc.d stops the package's own daemon from starting during the install, so
# tests start their own instances on ports of their own.
install_server_package() {
    local package=$1 command=$2
    if command -v "$command" >/dev/null 2>&1; then return 0; fi
    echo "==> installing $package"
    local policy=/usr/sbin/policy-rc.d made_policy="" status=0
    if [ ! -e "$policy" ]; then
        printf '#!/bin/sh\n# scripts/lib/setup.sh: no service starts during the install\nexit 101\n' \
            | as_root tee "$policy" >/dev/null
        as_root chmod 755 "$policy"
        made_policy=1
    fi
    as_root apt-get update -qq || status=$?
    if [ "$status" -eq 0 ]; then
        as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$package" >/dev/null \
            || status=$?
    fi
    if [ -n "$made_policy" ]; then as_root rm -f "$policy"; fi
    command -v "$command" >/dev/null 2>&1 || { echo "$package did not install (apt-get exit $status)" >&2; return 1; }
}

# Prometheus 2.42 (Debian's prometheus), for the test that has a real Prometheus scrape a
# mesh (a process of its own: a free port, its own config and storage in a temporary directory).
ensure_prometheus() { install_server_package prometheus prometheus; }

# etcd 3.4 (Debian's etcd-server), for the etcd registry's tests and topologies/etcd.yaml.
ensure_etcd() { install_server_package etcd-server etcd; }

# NATS, for the NATS rows of scripts/bench.sh: Debian's nats-server 2.9 (the script starts its
# own on a free port; the package's service is kept from starting) and libnats-dev, the NATS
# C client that scripts/bench/nats_echo.c is built with.
ensure_nats() {
    install_server_package nats-server nats-server || return 1
    if pkg-config --exists libnats 2>/dev/null; then return 0; fi
    echo "==> installing libnats-dev"
    as_root apt-get update -qq
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends libnats-dev pkg-config >/dev/null
    pkg-config --exists libnats || { echo "libnats-dev did not install" >&2; return 1; }
}

# iproute2 (`ip`), for the test that runs a mesh over three hosts made as network namespaces
# (scripts/netns-hosts.sh). The test itself runs only where `ip netns add` is permitted (root).
ensure_iproute2() {
    if command -v ip >/dev/null 2>&1; then return 0; fi
    echo "==> installing iproute2"
    as_root apt-get update -qq
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends iproute2 >/dev/null
    command -v ip >/dev/null 2>&1 || { echo "iproute2 did not install" >&2; return 1; }
}
