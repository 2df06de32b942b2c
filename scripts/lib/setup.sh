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
