#!/usr/bin/env bash
# The registry at scale (scripts/bench.sh --registry): one real registry process, N simulated
# instances heartbeating to it (scripts/bench/registry_sim.py, pyzmq, in processes of their
# own), and its CPU share beside N, with the time `mesh.lookup` takes to answer for a service
# of 1,000 instances and for everything.
#
#   scripts/bench/registry.sh [--instances "1000 10000"] [--window S] [--rounds R] [--full] [--compare BIN]
#
# Each round runs, per N and interleaved, the same simulated instances (sending 4-byte
# keep-alives, as ZMesh nodes do) against:
#   floor      scripts/bench/registry_floor.c: a raw libzmq ROUTER that only takes the beats
#              (zmq_poll, then recv): what libzmq alone costs on this machine;
#   zmesh-0    the ZMesh registry reading every message at once (read_coalescing_ms: 0);
#   zmesh      the ZMesh registry as configured by default (read_coalescing_ms: 2).
# --full adds instances that send the whole announcement every beat (as older nodes do);
# --compare BIN also runs another build's registry (say, the previous main's). The summary
# gives medians over the rounds and each one's ratio to the floor of the same round.
# Results: bench-results/registry-<time>.jsonl.
set -euo pipefail
cd "$(dirname "$0")/../.."
. scripts/lib/setup.sh
ensure_pyzmq

counts="1000 10000"
window=10
rounds=3
full=0
compare=
while [ $# -gt 0 ]; do
  case "$1" in
    --instances) counts=$2; shift 2 ;;
    --window) window=$2; shift 2 ;;
    --rounds) rounds=$2; shift 2 ;;
    --full) full=1; shift ;;
    --compare)
      compare=$(cd "$(dirname "$2")" && pwd)/$(basename "$2")
      [ -x "$compare" ] || { echo "registry.sh: --compare $2: no executable there" >&2; exit 64; }
      shift 2 ;;
    -h|--help) sed -n '2,20p' "$0"; exit 0 ;;
    *) echo "registry.sh: unknown option $1 (see --help)" >&2; exit 64 ;;
  esac
done
if [ -z "${ZMESH_BIN:-}" ]; then
  echo "==> building zmesh (release)"
  swift build -c release --product zmesh 2>&1 | grep -v "prohibited flag" | tail -1
  export ZMESH_BIN=$PWD/.build/release/zmesh
fi
mkdir -p .build/baseline
cc -O2 -Wall -o .build/baseline/registry_floor scripts/bench/registry_floor.c $(pkg-config --cflags --libs libzmq)

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

run() {  # label binary mode n [read_coalescing_ms]
  local label=$1 bin=$2 mode=$3 n=$4 coalescing=${5:-} port line
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  cat >"$work/registry.yaml" <<YAML
topology: brokerless
heartbeat: { interval_ms: 500, liveness: 3 }
registries:
  - { name: registry-1, bind: "tcp://127.0.0.1:$port", max_instances: 100000${coalescing:+, read_coalescing_ms: $coalescing} }
services:
  - { name: unused-1, service: unused, bind: "tcp://127.0.0.1:1" }
YAML
  # An older registry knows no max_instances (its limit is 10,000).
  if ! "$bin" nodes --config "$work/registry.yaml" >/dev/null 2>&1; then
    sed -i 's/, max_instances: 100000//' "$work/registry.yaml"
  fi
  rm -f "$work/ready"
  if [ "$bin" = floor ]; then
    .build/baseline/registry_floor "tcp://127.0.0.1:$port" >"$work/registry.log" 2>&1 </dev/null &
    registry_pid=$!
    echo "tcp://127.0.0.1:$port" >"$work/ready"  # it binds before the simulator's instances connect
  else
    ZMESH_READY_FILE="$work/ready" ZMESH_LOG_LEVEL=error "$bin" node registry-1 --config "$work/registry.yaml" \
      >"$work/registry.log" 2>&1 </dev/null &
    registry_pid=$!
  fi
  for _ in $(seq 100); do [ -s "$work/ready" ] && break; sleep 0.1; done
  [ -s "$work/ready" ] || { echo "registry did not start:"; tail "$work/registry.log"; exit 1; }
  line=$(python3 scripts/bench/registry_sim.py --endpoint "tcp://127.0.0.1:$port" --pid $registry_pid \
           --instances "$n" --mode "$mode" --window "$window")
  kill $registry_pid 2>/dev/null || true
  wait $registry_pid 2>/dev/null || true
  registry_pid=
  python3 - "$label" "$line" "$round" >>"$out" <<'PY'
import json, sys
data = json.loads(sys.argv[2]); data["build"] = sys.argv[1]; data["round"] = int(sys.argv[3]); print(json.dumps(data))
PY
  python3 - "$label" "$line" "$round" <<'PY'
import json, sys
d = json.loads(sys.argv[2])
def ms(key):
    v = d.get(key + "_ms")
    return "no answer" if v is None else f"{v:.2f} ms"
print(f"{sys.argv[3]:<5} {sys.argv[1]:<8} {d['mode']:<8} {d['instances']:>7} {d['joined']:>7} {d.get('registry_cpu_percent', 0):>6.1f}% "
      f"{d.get('us_per_beat', 0):>7.1f} {ms('lookup_thousand'):>11} {ms('lookup_all'):>11} {d.get('lookup_all_bytes', 0):>10}")
PY
}

echo "==> registry at scale: $rounds rounds of ${window}s CPU windows, 500 ms heartbeats (results in $out)"
printf '%-5s %-8s %-8s %7s %7s %7s %7s %11s %11s %10s\n' round build beats N live CPU us/beat "look 1,000" "look all" "all bytes"
for round in $(seq "$rounds"); do
  for n in $counts; do
    run floor floor compact "$n"
    [ -n "$compare" ] && run before "$compare" full "$n"
    [ $full = 1 ] && run zmesh "$ZMESH_BIN" full "$n"
    run zmesh-0 "$ZMESH_BIN" compact "$n" 0
    run zmesh "$ZMESH_BIN" compact "$n"
  done
done
echo
echo "==> medians over $rounds rounds (ratio: CPU over the floor's CPU in the same round)"
python3 - "$out" <<'PY'
import json, statistics, sys
rows = [json.loads(line) for line in open(sys.argv[1])]
floor = {(r["round"], r["instances"]): r.get("registry_cpu_percent") for r in rows if r["build"] == "floor"}
print(f"{'build':<8} {'beats':<8} {'N':>7} {'CPU':>7} {'x floor':>8} {'look 1,000':>11} {'look all':>10}")
def med(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None
keys = []
for r in rows:
    key = (r["build"], r["mode"], r["instances"])
    if key not in keys: keys.append(key)
for build, mode, n in sorted(keys, key=lambda k: (k[2], keys.index(k))):
    group = [r for r in rows if (r["build"], r["mode"], r["instances"]) == (build, mode, n)]
    cpu = med([r.get("registry_cpu_percent") for r in group])
    ratios = [r["registry_cpu_percent"] / floor[(r["round"], n)] for r in group
              if r.get("registry_cpu_percent") is not None and floor.get((r["round"], n))]
    ratio = med(ratios)
    thousand, every = med([r.get("lookup_thousand_ms") for r in group]), med([r.get("lookup_all_ms") for r in group])
    text = lambda v, f: "-" if v is None else f.format(v)
    print(f"{build:<8} {mode:<8} {n:>7} {text(cpu, '{:.1f}%'):>7} {text(ratio, '{:.2f}x'):>8} "
          f"{text(thousand, '{:.2f} ms'):>11} {text(every, '{:.2f} ms'):>10}")
PY
