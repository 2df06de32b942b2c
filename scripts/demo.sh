#!/usr/bin/env bash
# The main job, on a fresh machine: build, bring up a brokered mesh from its topology file,
# call services by name, kill -9 an echo instance under load and show every call still
# answered, tear down; then the same broker-less; then broker-less with the instances kept in
# etcd (mesh-up.sh starts a local etcd); then your own typed service (Examples/).
#
# Environment: ZMESH_PORT_OFFSET shifts every port of the topology files (if 5550-5702 are taken).
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib/setup.sh
ensure_libzmq

bold() { printf '\n\033[1m%s\033[0m\n' "$*"; }
say() { printf '  %s\n' "$*"; }

bold "Building (release): zmesh and the Greeter example"
swift build -c release --product zmesh 2>&1 | grep -v "prohibited flag" | tail -1
swift build -c release --product GreeterService 2>&1 | grep -v "prohibited flag" | tail -1
swift build -c release --product GreeterClient 2>&1 | grep -v "prohibited flag" | tail -1
zmesh=.build/release/zmesh
export ZMESH_BIN=$PWD/$zmesh
export MESH_RUN_DIR=${MESH_RUN_DIR:-.mesh/demo}
trap 'scripts/mesh-down.sh >/dev/null 2>&1 || true' EXIT

summary=()

run_topology() {
  local file=$1 label=$2 gone_after=${3:-1.6} gone_by=${4:-"after 1.5 s of silence the registry has evicted echo-1"}
  bold "$label: scripts/mesh-up.sh $file"
  scripts/mesh-up.sh "$file" | sed 's/^/  /'
  bold "$label: zmesh status --config $file"
  $zmesh status --config "$file" | sed 's/^/  /'

  bold "$label: calling services by name"
  say "\$ zmesh call echo hello --config $file"
  say "$($zmesh call echo hello --config "$file")"
  say "\$ zmesh call kv.put color=blue --config $file"
  say "$($zmesh call kv.put color=blue --config "$file")"
  say "\$ zmesh call kv.get color --config $file"
  local color
  color=$($zmesh call kv.get color --config "$file")
  say "$color"
  say "\$ zmesh call kv.get shape --config $file    (no such key: an application error, exit code 7)"
  set +e
  $zmesh call kv.get shape --config "$file" 2>&1 | sed 's/^/  /'
  set -e

  bold "$label: streams, each way under flow control"
  say "\$ zmesh call stream.count 5 --stream --config $file    (a server stream)"
  $zmesh call stream.count 5 --stream --config "$file" | tr '\n' ' ' | sed 's/^/  /'; echo
  say "\$ seq 1 1000 | zmesh call stream.sum --client-stream --config $file    (a client stream: sum, count)"
  say "$(seq 1 1000 | $zmesh call stream.sum --client-stream --config "$file")"

  bold "$label: failover: kill -9 echo-1 while 16 callers keep calling echo"
  $zmesh bench echo --config "$file" --concurrency 16 --requests 100000000 --max-seconds 3 --size 64 --warmup 100 \
    >"$MESH_RUN_DIR/bench.txt" 2>&1 &
  local bench=$!
  sleep 1
  local victim
  victim=$(cat "$MESH_RUN_DIR/echo-1.pid")
  say "kill -9 $victim (echo-1), one second into the load"
  kill -9 "$victim"
  wait $bench || true
  sed 's/^/  /' "$MESH_RUN_DIR/bench.txt"
  sleep "$gone_after"   # three heartbeat intervals (or etcd's lease): echo-1 is gone
  say "$gone_by:"
  $zmesh status --config "$file" | grep -E 'echo-|not up' | sed 's/^/  /'
  say "\$ zmesh call echo.whoami --config $file   (answered by a survivor)"
  say "$($zmesh call echo.whoami --config "$file")"

  local calls errors
  calls=$(grep -o '[0-9]* calls in' "$MESH_RUN_DIR/bench.txt" | awk '{print $1}')
  errors=$(grep -o 'errors: .*' "$MESH_RUN_DIR/bench.txt" | sed 's/errors: //')
  summary+=("$label ($file): echo and kv answered by name (kv.get color -> $color); $calls calls while echo-1 was killed with kill -9, errors: $errors")
  scripts/mesh-down.sh | sed 's/^/  /'
}

run_topology topologies/brokered.yaml "Brokered"
run_topology topologies/brokerless.yaml "Broker-less"
run_topology topologies/etcd.yaml "On etcd" 2.5 "echo-1's etcd lease (2 s) has run out: its key is gone"

bold "Your own typed service: Examples/GreeterService as nodes of topologies/greeter.yaml"
scripts/mesh-up.sh topologies/greeter.yaml | sed 's/^/  /'
for name in Ada Grace Linus; do
  say "\$ GreeterClient topologies/greeter.yaml $name"
  say "$(.build/release/GreeterClient topologies/greeter.yaml "$name")"
done
summary+=("Greeter example: a Codable service and client of your own, run from a topology file")
scripts/mesh-down.sh | sed 's/^/  /'

bold "What happened"
for line in "${summary[@]}"; do say "- $line"; done
say "The calling code was the same each time: the topology file chose brokers or not."
