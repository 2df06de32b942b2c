#!/usr/bin/env bash
# Sets up a fresh machine and runs the whole test suite: installs libzmq3-dev (and pyzmq
# for the cross-language test peers, majortomo from PyPI for the Majordomo tests, prometheus
# for the scraping test, etcd-server for the etcd tests, iproute2 for the three-host test)
# when missing, builds everything, runs `swift test`.
#   scripts/test.sh [extra swift test arguments, such as --filter Registry]
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib/setup.sh
ensure_libzmq
ensure_pyzmq
ensure_majortomo
ensure_prometheus
ensure_etcd
ensure_iproute2

echo "==> swift build (debug: library, zmesh, examples)"
swift build
echo "==> swift test"
# Integration tests start the zmesh binary built above.
export ZMESH_BIN="$PWD/.build/debug/zmesh"
swift test "$@"
