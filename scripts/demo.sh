#!/usr/bin/env bash
# The main job: build, start a service node, call it by name, stop it.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib/setup.sh
ensure_libzmq

echo "==> building (release)"
swift build -c release --product zmesh 2>&1 | grep -v "prohibited flag" | tail -1
zmesh=.build/release/zmesh
endpoint=${ZMESH_DEMO_ENDPOINT:-tcp://127.0.0.1:5601}

$zmesh serve --bind "$endpoint" --service echo --service kv --name echo-1 --log-level warning &
pid=$!
trap 'kill -TERM $pid 2>/dev/null || true; wait $pid 2>/dev/null || true' EXIT
for _ in $(seq 1 100); do
  $zmesh call echo ping --endpoint "$endpoint" --timeout 0.2 >/dev/null 2>&1 && break
  sleep 0.1
done

echo "==> zmesh call echo hello"
$zmesh call echo hello --endpoint "$endpoint"; echo
echo "==> zmesh call kv.put color=blue, then kv.get color"
$zmesh call kv.put color=blue --endpoint "$endpoint"; echo
$zmesh call kv.get color --endpoint "$endpoint"; echo
echo "==> zmesh call kv.get missing (an application error, exit code 7)"
$zmesh call kv.get missing --endpoint "$endpoint" || echo "exit code $?"
echo "==> done"
