#!/usr/bin/env bash
# The registry at scale (scripts/bench.sh --registry): one real registry process, N simulated
# instances heartbeating to it (scripts/bench/registry_sim.py, pyzmq, in processes of their
# own), and its CPU share beside N, with the time `mesh.lookup` takes to answer for a service
# of 1,000 instances and for everything.
#
#   scripts/bench/registry.sh [--instances "1000 10000"] [--window S] [--compare BIN]
#
# Modes per N: `compact` (instances that send keep-alives, as ZMesh nodes now do) and `full`
# (instances that send the whole announcement every beat, as older nodes do). --compare BIN
# also runs another build's registry (say, the previous main's) with `full` instances: what
# every heartbeat cost before keep-alives. Results: bench-results/registry-<time>.jsonl.
set -euo pipefail
cd "$(dirname "$0")/../.."
. scripts/lib/setup.sh
ensure_pyzmq

counts="1000 10000"
window=10
compare=
while [ $# -gt 0 ]; do
  case "$1" in
    --instances) counts=$2; shift 2 ;;
    --window) window=$2; shift 2 ;;
    --compare)
      compare=$(cd "$(dirname "$2")" && pwd)/$(basename "$2")
      [ -x "$compare" ] || { echo "registry.sh: --compare $2: no executable there" >&2; exit 64; }
      shift 2 ;;
    -h|--help) sed -n '2,13p' "$0"; exit 0 ;;
    *) echo "registry.sh: unknown option $1 (see --help)" >&2; exit 64 ;;
  esac
done
if [ -z "${ZMESH_BIN:-}" ]; then
  echo "==> building zmesh (release)"
  swift build -c release --product zmesh 2>&1 | grep -v "prohibited flag" | tail -1
  export ZMESH_BIN=$PWD/.build/release/zmesh
fi

# A registry holds a descriptor per instance: raise the soft limit to the hard one.
ulimit -n "$(ulimit -Hn)"
work=$(mktemp -d)
registry_pid=
cleanup() {
  [ -n "$registry_pid" ] && kill "$registry_pid" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
mkdir -p bench-results
out="bench-results/registry-$(date -u +%Y%m%dT%H%M%SZ).jsonl"
: >"$out"

run() {  # label binary mode n
  local label=$1 bin=$2 mode=$3 n=$4 port line
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  cat >"$work/registry.yaml" <<YAML
topology: brokerless
heartbeat: { interval_ms: 500, liveness: 3 }
registries:
  - { name: registry-1, bind: "tcp://127.0.0.1:$port", max_instances: 100000 }
services:
  - { name: unused-1, service: unused, bind: "tcp://127.0.0.1:1" }
YAML
  # An older registry knows no max_instances (its limit is 10,000).
  if ! "$bin" nodes --config "$work/registry.yaml" >/dev/null 2>&1; then
    sed -i 's/, max_instances: 100000//' "$work/registry.yaml"
  fi
  rm -f "$work/ready"
  ZMESH_READY_FILE="$work/ready" ZMESH_LOG_LEVEL=error "$bin" node registry-1 --config "$work/registry.yaml" \
    >"$work/registry.log" 2>&1 </dev/null &
  registry_pid=$!
  for _ in $(seq 100); do [ -s "$work/ready" ] && break; sleep 0.1; done
  [ -s "$work/ready" ] || { echo "registry did not start:"; tail "$work/registry.log"; exit 1; }
  line=$(python3 scripts/bench/registry_sim.py --endpoint "tcp://127.0.0.1:$port" --pid $registry_pid \
           --instances "$n" --mode "$mode" --window "$window")
  kill $registry_pid 2>/dev/null || true
  wait $registry_pid 2>/dev/null || true
  registry_pid=
  python3 - "$label" "$line" >>"$out" <<'PY'
import json, sys
data = json.loads(sys.argv[2]); data["build"] = sys.argv[1]; print(json.dumps(data))
PY
  python3 - "$label" "$line" <<'PY'
import json, sys
d = json.loads(sys.argv[2])
def ms(key):
    v = d.get(key + "_ms")
    return "no answer" if v is None else f"{v:.2f} ms"
print(f"{sys.argv[1]:<8} {d['mode']:<8} {d['instances']:>7} {d['joined']:>7} {d.get('registry_cpu_percent', 0):>6.1f}% "
      f"{d.get('us_per_beat', 0):>7.1f} {ms('lookup_thousand'):>11} {ms('lookup_all'):>11} {d.get('lookup_all_bytes', 0):>10}")
PY
}

echo "==> registry at scale: ${window}s CPU windows, 500 ms heartbeats (results in $out)"
printf '%-8s %-8s %7s %7s %7s %7s %11s %11s %10s\n' build beats N live CPU us/beat "look 1,000" "look all" "all bytes"
for n in $counts; do
  [ -n "$compare" ] && run before "$compare" full "$n"
  run after "$ZMESH_BIN" full "$n"
  run after "$ZMESH_BIN" compact "$n"
done
