#!/usr/bin/env bash
# Starts every node of a topology file as its own background process, then waits until every
# service is callable.
#
#   scripts/mesh-up.sh topologies/brokerless.yaml
#
# Writes $MESH_RUN_DIR/<node>.pid and <node>.log (default MESH_RUN_DIR=.mesh/run) and exits 0
# once every node is up; exits non-zero with the failing node's log tail otherwise (and stops
# what it started). Stop the mesh with scripts/mesh-down.sh.
#
# A file that keeps its instances in etcd (registry: { etcd: ... }) with an endpoint on
# 127.0.0.1 where nothing answers gets a local single-member etcd there first (Debian's
# etcd-server, installed if missing; data in the run directory, etcd.pid and etcd.log beside
# the nodes'); mesh-down.sh stops it after the nodes.
#
# Environment:
#   MESH_RUN_DIR       where pid and log files go (default .mesh/run)
#   MESH_UP_TIMEOUT    seconds to wait for every node (default 30)
#   ZMESH_BIN          the zmesh binary (default .build/release/zmesh, built if missing)
#   MESH_NETNS_<NODE>  a network namespace to start node <NODE> in (`ip netns exec NS ...`;
#                      <NODE> is the name uppercased, '-' written '_': MESH_NETNS_ECHO_3=zm-h3)
#   ZMESH_PORT_OFFSET, ZMESH_<NODE>_BIND, ZMESH_LOG_LEVEL, ZMESH_LOG_FORMAT ...  passed to every node (docs/OPERATIONS.md)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)

# Nodes outlive this script: they must not inherit its caller's open descriptors (a pipe the
# caller reads to its end, say), only stdin, stdout and stderr, which are redirected below.
for fd in /proc/$$/fd/*; do
  fd=${fd##*/}
  [ "$fd" -gt 2 ] 2>/dev/null && eval "exec $fd>&-" 2>/dev/null || true
done
if [ $# -ne 1 ]; then
  echo "usage: scripts/mesh-up.sh TOPOLOGY_FILE" >&2
  exit 64
fi
[ -f "$1" ] || { echo "mesh-up: no such topology file: $1" >&2; exit 66; }
file=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
run_dir=${MESH_RUN_DIR:-.mesh/run}
timeout=${MESH_UP_TIMEOUT:-30}
zmesh=${ZMESH_BIN:-$root/.build/release/zmesh}

if [ ! -x "$zmesh" ]; then
  echo "mesh-up: building zmesh (release)"
  (cd "$root" && swift build -c release --product zmesh 2>&1 | grep -v "prohibited flag" | tail -1)
fi

mkdir -p "$run_dir"
run_dir=$(cd "$run_dir" && pwd)
for pidfile in "$run_dir"/*.pid; do
  [ -e "$pidfile" ] || continue
  if kill -0 "$(cat "$pidfile")" 2>/dev/null; then
    echo "mesh-up: a mesh is already running from $run_dir ($(basename "$pidfile" .pid)); run scripts/mesh-down.sh first" >&2
    exit 1
  fi
  rm -f "$pidfile"
done

# Checks the file too: a bad one stops here with its line and key.
nodes=$("$zmesh" nodes --config "$file")

# Resolves a node's program: a path, else a product of this package, else one on PATH.
resolve() {
  local exe=$1
  if [[ "$exe" == */* ]]; then
    [[ "$exe" == /* ]] && echo "$exe" || echo "$root/$exe"
  elif [ -x "$(dirname "$zmesh")/$exe" ]; then
    echo "$(dirname "$zmesh")/$exe"
  else
    command -v "$exe" || echo "$exe"
  fi
}

# A local etcd for a file that names one on loopback that does not answer.
etcd_answers() { python3 -c 'import sys, urllib.request; urllib.request.urlopen(sys.argv[1] + "/health", timeout=1)' "$1" >/dev/null 2>&1; }
for endpoint in $("$zmesh" nodes --config "$file" --etcd); do
  case "$endpoint" in http://127.0.0.1:*) ;; *) continue ;; esac
  etcd_answers "$endpoint" && break
  . "$root/scripts/lib/setup.sh"
  ensure_etcd
  port=${endpoint##*:}
  peer=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  nohup etcd --name mesh --data-dir "$run_dir/etcd-data" --listen-client-urls "$endpoint" --advertise-client-urls "$endpoint" \
    --listen-peer-urls "http://127.0.0.1:$peer" --initial-advertise-peer-urls "http://127.0.0.1:$peer" \
    --initial-cluster "mesh=http://127.0.0.1:$peer" >"$run_dir/etcd.log" 2>&1 </dev/null &
  echo $! >"$run_dir/etcd.pid"
  printf 'mesh-up: started %-12s %-8s pid %s\n' etcd etcd "$!"
  etcd_deadline=$((SECONDS + 15))
  until etcd_answers "$endpoint"; do
    if ! kill -0 "$(cat "$run_dir/etcd.pid")" 2>/dev/null || [ $SECONDS -ge $etcd_deadline ]; then
      echo "mesh-up: etcd did not start at $endpoint; last lines of $run_dir/etcd.log:" >&2
      tail -n 20 "$run_dir/etcd.log" | sed 's/^/  | /' >&2
      kill "$(cat "$run_dir/etcd.pid")" 2>/dev/null; rm -f "$run_dir/etcd.pid"
      exit 1
    fi
    sleep 0.1
  done
  break
done

started=()
while IFS=$'\t' read -r -a fields; do
  [ ${#fields[@]} -ge 2 ] || continue
  name=${fields[0]}
  role=${fields[1]}
  if [ ${#fields[@]} -gt 2 ]; then
    program=$(resolve "${fields[2]}")
    command=("$program" "${fields[@]:3}" --node "$name" --config "$file")
  else
    command=("$zmesh" node "$name" --config "$file")
  fi
  # `ip netns exec` enters the namespace and execs the node: the pid below is still the node's.
  netns_var=MESH_NETNS_$(echo "$name" | tr 'a-z-' 'A-Z_')
  netns=${!netns_var:-}
  [ -z "$netns" ] || command=(ip netns exec "$netns" "${command[@]}")
  rm -f "$run_dir/$name.ready"
  ZMESH_READY_FILE="$run_dir/$name.ready" nohup "${command[@]}" >"$run_dir/$name.log" 2>&1 </dev/null &
  echo $! >"$run_dir/$name.pid"
  started+=("$name")
  printf 'mesh-up: started %-12s %-8s pid %s%s\n' "$name" "$role" "$!" "${netns:+ in $netns}"
done <<<"$nodes"

fail() {
  local name=$1 why=$2
  echo "mesh-up: $name $why; last lines of $run_dir/$name.log:" >&2
  tail -n 20 "$run_dir/$name.log" | sed 's/^/  | /' >&2
  MESH_RUN_DIR="$run_dir" "$root/scripts/mesh-down.sh" >/dev/null 2>&1 || true
  exit 1
}

# Up means: each node we started is running and has written its ready file (it holds its own
# endpoints: another mesh on the same ports does not count), and the mesh answers as a whole.
all_listening() {
  for name in "${started[@]}"; do
    [ -s "$run_dir/$name.ready" ] || return 1
  done
}

deadline=$((SECONDS + timeout))
while :; do
  for name in "${started[@]}"; do
    kill -0 "$(cat "$run_dir/$name.pid")" 2>/dev/null || fail "$name" "exited during start-up"
  done
  if all_listening && "$zmesh" status --config "$file" --wait 1 >"$run_dir/status.txt" 2>&1; then
    for name in "${started[@]}"; do
      kill -0 "$(cat "$run_dir/$name.pid")" 2>/dev/null || fail "$name" "exited during start-up"
    done
    echo "mesh-up: every node of $(basename "$file") is up (pids and logs in $run_dir)"
    exit 0
  fi
  if [ $SECONDS -ge $deadline ]; then
    missing=$(grep -o 'not up after.*' "$run_dir/status.txt" | sed 's/.*: //' | tr ',' ' ' | awk '{print $1}')
    fail "${missing:-${started[0]}}" "is not up after ${timeout}s ($(tail -n 1 "$run_dir/status.txt"))"
  fi
done
