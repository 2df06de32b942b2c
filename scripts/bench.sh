#!/usr/bin/env bash
# Benchmarks the mesh beside the raw-libzmq baseline, interleaved, and prints a table of
# medians and mesh/baseline ratios (writes the same as JSON).
#
#   scripts/bench.sh                 3 rounds of every case (about 5 minutes)
#   scripts/bench.sh --rounds 5      more rounds
#   scripts/bench.sh --pin           servers on CPU 0, clients on CPU 1 (steadier figures)
#   scripts/bench.sh --memory        also the RSS checks (1,000,000 calls; 10,000 in flight)
#   scripts/bench.sh --smoke         one tiny round with the debug build: checks the script works
#   scripts/bench.sh --only "brokered:tput64 brokerless:seq64"
#                                    only these topology:case pairs (quicker runs while profiling)
#   scripts/bench.sh --compare BIN   also every mesh case with another build's zmesh (say, the
#                                    previous main's, built in a worktree), interleaved in the same
#                                    rounds: a before/after table, each build against the same
#                                    round's baseline
#   scripts/bench.sh --observed      also every mesh case observed: nodes serving Prometheus metrics
#                                    (timing their handlers), a client timing its calls, and every
#                                    call, hop and handler traced (ZMESH_TRACER=discard), in the
#                                    same rounds: what metrics and tracing cost per call
#   scripts/bench.sh --majordomo     only the Majordomo rows (release build, brokered, each dialect's
#                                    client through the broker and through the zmq_proxy floor): the
#                                    quick check of the 1.2x criterion
#   scripts/bench.sh --registry [--instances "1000 10000"] [--window S] [--rounds R] [--full] [--compare BIN]
#                                    only the registry at scale: N simulated instances heartbeating
#                                    to one registry, its CPU share and look-up times beside N and
#                                    beside a raw libzmq ROUTER taking the same beats, interleaved
#                                    (scripts/bench/registry.sh; --compare BIN: an older registry too)
#   scripts/bench.sh --stream [--rounds R] [--messages N] [--window W] [--sweep "W..."]
#                                    only server streams: one-way streams of 64-byte messages beside
#                                    a raw libzmq PUSH/PULL stream, and the flow-control case (a
#                                    million messages to a slow, then fast, reader; RSS of every
#                                    hop) (scripts/bench/stream.sh)
#
# Cases, each against the baseline in the same round: sequential round trip (64 B), 128 in
# flight (64 B), 128 in flight (1 KiB); the mesh broker-less and brokered (one echo instance,
# scripts/bench/*.yaml). Brokered rounds add Majordomo, one row per dialect, each with its
# own sequential Python client (64 B): RFC 18's MDP/0.2 (Tests/Peers/mdp_client.py), RFC 7's
# MDP/0.1 on a REQ socket (Tests/Peers/mdp01_client.py) and majortomo 0.2.0's Client
# (Tests/Peers/majortomo_client.py). Each runs through the broker to the Swift echo, straight
# to a raw C echo that answers every dialect (scripts/bench/mdp_echo.c), and through
# scripts/bench/zproxy.c (a logic-free C zmq_proxy: the floor for any broker) to that echo;
# the criterion is the broker within 1.2x of the floor. Each round also runs NATS, which is
# brokered too, on the sequential and throughput cases: Debian's nats-server 2.9 on a free
# port, a C responder in queue group `q` replying at once (send-asap) and a C client
# (scripts/bench/nats_echo.c, libnats), each row against the same round's raw baseline, beside
# the brokered mesh. Broker-less rounds also run the throughput cases on the Swift loop floor
# (Benchmarks/LoopFloor: the mesh's loop threads, socket actors and coalescing, with no mesh
# logic), called from tasks as zmesh bench calls and from the reply handler: what the layer
# under the mesh costs, beside what the mesh adds. Results: bench-results/bench-<time>.json.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib/setup.sh
ensure_libzmq
ensure_pyzmq
ensure_majortomo
ensure_nats
# Mesh nodes, etcd or NATS servers already running (left by an interrupted test run, say) wake
# on their own timers and move the figures, latency most: say so before measuring.
strays=$(for name in zmesh etcd nats-server; do pgrep -x "$name" || true; done | tr '\n' ' ')
if [ -n "${strays// /}" ]; then
  echo "bench.sh: warning: zmesh, etcd or nats-server processes are already running (PIDs $strays);" \
       "they perturb the figures: stop them first" >&2
fi

rounds=3
pin=0
memory=0
smoke=0
compare=
observed=0
majordomo=0
only=
while [ $# -gt 0 ]; do
  case "$1" in
    --rounds) rounds=$2; shift 2 ;;
    --pin) pin=1; shift ;;
    --memory) memory=1; shift ;;
    --smoke) smoke=1; rounds=1; shift ;;
    --observed) observed=1; shift ;;
    --majordomo) majordomo=1; shift ;;
    --only) only=$2; shift 2 ;;
    --registry) shift; exec scripts/bench/registry.sh "$@" ;;
    --stream) shift; exec scripts/bench/stream.sh "$@" ;;
    --compare)
      compare=$(cd "$(dirname "$2")" && pwd)/$(basename "$2")
      [ -x "$compare" ] || { echo "bench.sh: --compare $2: no executable there" >&2; exit 64; }
      shift 2 ;;
    -h|--help) sed -n "2,$(( $(grep -n '^set -euo pipefail' "$0" | cut -d: -f1) - 1 ))p" "$0"; exit 0 ;;
    *) echo "bench.sh: unknown option $1 (see --help)" >&2; exit 64 ;;
  esac
done

# Sizes per case: calls in the sequential case, then in the throughput cases.
if [ $smoke = 1 ]; then seq_n=500; tput_n=5000; tput1k_n=5000; mdp_n=300; else seq_n=20000; tput_n=300000; tput1k_n=200000; mdp_n=5000; fi

if [ $smoke = 1 ] && [ -z "${ZMESH_BIN:-}" ]; then
  swift build --product zmesh 2>&1 | grep -v "prohibited flag" | tail -1
  export ZMESH_BIN=$PWD/.build/debug/zmesh
elif [ -z "${ZMESH_BIN:-}" ]; then
  echo "==> building zmesh (release)"
  swift build -c release --product zmesh 2>&1 | grep -v "prohibited flag" | tail -1
  export ZMESH_BIN=$PWD/.build/release/zmesh
fi
zmesh=$ZMESH_BIN
# The transport layer's floor (Benchmarks/LoopFloor): loop threads and socket actors as the
# mesh runs them, no mesh logic; run beside the raw echo in the broker-less rounds.
floor_config=release
if [ $smoke = 1 ]; then floor_config=debug; fi
echo "==> building zmesh-loop-floor ($floor_config)"
swift build -c $floor_config --product zmesh-loop-floor 2>&1 | grep -v "prohibited flag" | tail -1
loop_floor=$PWD/.build/$floor_config/zmesh-loop-floor

echo "==> building the raw-libzmq baseline"
baseline_src=../shared/baseline
[ -f "$baseline_src/zecho_client.c" ] || baseline_src=scripts/bench/baseline
mkdir -p .build/baseline
for program in zecho_server zecho_client; do
  cc -O2 -Wall -o ".build/baseline/$program" "$baseline_src/$program.c" $(pkg-config --cflags --libs libzmq)
done
cc -O2 -Wall -o .build/baseline/zproxy scripts/bench/zproxy.c $(pkg-config --cflags --libs libzmq)
cc -O2 -Wall -o .build/baseline/mdp_echo scripts/bench/mdp_echo.c $(pkg-config --cflags --libs libzmq)
cc -O2 -Wall -o .build/baseline/nats_echo scripts/bench/nats_echo.c $(pkg-config --cflags --libs libnats)
echo "    from $baseline_src"

out_dir=bench-results
mkdir -p "$out_dir"
stamp=$(date -u +%Y%m%dT%H%M%SZ)
raw="$out_dir/bench-$stamp.jsonl"
: >"$raw"
export MESH_RUN_DIR=${MESH_RUN_DIR:-.mesh/bench}
baseline_pid=
loop_floor_pid=
proxy_pid=
mdp_echo_pid=
mdp_proxy_pid=
nats_server_pid=
nats_echo_pid=
nats_dir=$(mktemp -d "${TMPDIR:-/tmp}/zmesh-bench-nats.XXXXXX")
cleanup() {
  for pid in "$baseline_pid" "$loop_floor_pid" "$proxy_pid" "$mdp_echo_pid" "$mdp_proxy_pid" "$nats_echo_pid" "$nats_server_pid"; do
    [ -n "$pid" ] && kill "$pid" 2>/dev/null || true
  done
  scripts/mesh-down.sh >/dev/null 2>&1 || true
  rm -rf "$nats_dir"
}
trap cleanup EXIT

server_cpu() { if [ $pin = 1 ]; then taskset -a -pc 0 "$1" >/dev/null; fi; }
# Runs a client; its CPU (user and system seconds, every thread) goes to $client_cpu_file.
client_cpu_file=$nats_dir/client-cpu
client() {
  local TIMEFORMAT='%3U %3S'
  { time { if [ $pin = 1 ]; then taskset -c 1 "$@"; else "$@"; fi; } 2>&3; } 3>&2 2>"$client_cpu_file"
}
# CPU time in ns a process has used so far, every thread (0 for no PID).
cpu_ns() {
  [ -n "${1:-}" ] && [ -d "/proc/$1/task" ] || { echo 0; return; }
  cat /proc/"$1"/task/*/schedstat 2>/dev/null | awk '{ total += $1 } END { printf "%.0f", total }'
}
calls_of() {  # the calls a case makes
  case $1 in seq64) echo $seq_n ;; tput64) echo $tput_n ;; tput1k) echo $tput1k_n ;; *) echo $mdp_n ;; esac
}
# Runs a client of CASE (the command after the PIDs) and prints its JSON line with CPU per call
# added, in us: the client's (its own measure of the calls when it gives one, else the whole
# process's), the server's and the broker's (every thread, over the client's run).
measured() {  # case server_pid broker_pid command...
  local calls server=$2 broker=$3 s0 b0 line
  calls=$(calls_of "$1"); shift 3
  s0=$(cpu_ns "$server"); b0=$(cpu_ns "$broker")
  line=$(client "$@")
  python3 - "$line" "$calls" "$(cat "$client_cpu_file")" "$s0" "$(cpu_ns "$server")" "$b0" "$(cpu_ns "$broker")" "$server" "$broker" <<'PY'
import json, sys
line, calls, client = sys.argv[1], int(sys.argv[2]), sys.argv[3].split()
s0, s1, b0, b1 = (int(v) for v in sys.argv[4:8])
server, broker = sys.argv[8], sys.argv[9]
d = json.loads(line)
if "cpu_us_per_call" in d:
    d["client_cpu_us"] = d.pop("cpu_us_per_call")
elif len(client) == 2:
    d["client_cpu_us"] = (float(client[0]) + float(client[1])) * 1e6 / calls
if server:
    d["server_cpu_us"] = (s1 - s0) / 1e3 / calls
if broker:
    d["broker_cpu_us"] = (b1 - b0) / 1e3 / calls
print(json.dumps(d))
PY
}
rss_kib() { awk '/VmRSS/ {print $2}' "/proc/$1/status" 2>/dev/null || echo 0; }

# A free port for the baseline server.
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
base_ep="tcp://127.0.0.1:$port"
.build/baseline/zecho_server "$base_ep" 3600 2>/dev/null &
baseline_pid=$!
server_cpu $baseline_pid
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
loop_floor_ep="tcp://127.0.0.1:$port"
"$loop_floor" server "$loop_floor_ep" 2>/dev/null &
loop_floor_pid=$!
server_cpu $loop_floor_pid
# The broker floor: a logic-free C zmq_proxy in front of the same echo.
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
proxy_ep="tcp://127.0.0.1:$port"
.build/baseline/zproxy "$proxy_ep" "$base_ep" 2>/dev/null &
proxy_pid=$!
server_cpu $proxy_pid
# Majordomo rows: the raw echo that answers every dialect, and the same proxy in front of it.
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
mdp_ep="tcp://127.0.0.1:$port"
.build/baseline/mdp_echo "$mdp_ep" 2>/dev/null &
mdp_echo_pid=$!
server_cpu $mdp_echo_pid
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
mdp_proxy_ep="tcp://127.0.0.1:$port"
.build/baseline/zproxy "$mdp_proxy_ep" "$mdp_ep" 2>/dev/null &
mdp_proxy_pid=$!
server_cpu $mdp_proxy_pid
sleep 0.3

# The Majordomo client of a case: its script and options (one word each).
mdp_client() {
  case $1 in
    mdp64) echo Tests/Peers/mdp_client.py ;;
    mdp64-rfc7) echo Tests/Peers/mdp01_client.py --socket req ;;
    mdp64-majortomo) echo Tests/Peers/majortomo_client.py ;;
  esac
}
# The RFC 18 client takes the raw echo's copy of its REQUEST as the answer with --raw; the
# others need no option (mdp_echo answers them in their dialect).
mdp_raw() { if [ "$1" = mdp64 ]; then echo --raw; fi; }

record() {  # round topology case json
  python3 - "$1" "$2" "$3" "$4" >>"$raw" <<'PY'
import json, sys
round_, topology, case, text = sys.argv[1:5]
data = json.loads(text)
data.update(round=int(round_), topology=topology, case=case)
print(json.dumps(data))
PY
}

baseline_case() {  # round case topology
  local round=$1 case=$2 topology=$3 line
  case $case in
    seq64) line=$(measured $case "$baseline_pid" "" .build/baseline/zecho_client "$base_ep" lat $seq_n 64) ;;
    tput64) line=$(measured $case "$baseline_pid" "" .build/baseline/zecho_client "$base_ep" tput $tput_n 64 128) ;;
    tput1k) line=$(measured $case "$baseline_pid" "" .build/baseline/zecho_client "$base_ep" tput $tput1k_n 1024 128) ;;
    mdp64*) line=$(client python3 $(mdp_client $case) "$mdp_ep" echo --bench $mdp_n --size 64 $(mdp_raw $case)) ;;
  esac
  record "$round" baseline "$case" "$line"
  # Broker-less rounds: the same load on the Swift loop floor, called from tasks as zmesh bench
  # calls, and from the reply handler (no task per call).
  if [ "$topology" = brokerless ] && { [ $case = tput64 ] || [ $case = tput1k ]; }; then
    local mode size=64
    if [ $case = tput1k ]; then size=1024; fi
    for mode in tasks callbacks; do
      line=$(measured $case "$loop_floor_pid" "" "$loop_floor" client "$loop_floor_ep" "$(calls_of $case)" $size 128 $mode)
      record "$round" "loopfloor-$mode" "$case" "$line"
    done
  fi
  # Brokered rounds: the same client through the logic-free C proxy, the floor for a broker.
  if [ "$topology" = brokered ]; then
    case $case in
      seq64) line=$(measured $case "$baseline_pid" "$proxy_pid" .build/baseline/zecho_client "$proxy_ep" lat $seq_n 64) ;;
      tput64) line=$(measured $case "$baseline_pid" "$proxy_pid" .build/baseline/zecho_client "$proxy_ep" tput $tput_n 64 128) ;;
      tput1k) line=$(measured $case "$baseline_pid" "$proxy_pid" .build/baseline/zecho_client "$proxy_ep" tput $tput1k_n 1024 128) ;;
      mdp64*) line=$(client python3 $(mdp_client $case) "$mdp_proxy_ep" echo --bench $mdp_n --size 64 $(mdp_raw $case)) ;;
    esac
    record "$round" floor "$case" "$line"
  fi
}

# NATS, started for each round's brokered cases and stopped after them: a nats-server of its
# own (no config file) on a free port, then the echo responder, which creates its ready file
# once the server has its queue subscription.
nats_up() {
  local port deadline
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  nats_url=nats://127.0.0.1:$port
  nats-server -a 127.0.0.1 -p "$port" >"$nats_dir/nats-server.log" 2>&1 </dev/null &
  nats_server_pid=$!
  server_cpu $nats_server_pid
  deadline=$((SECONDS + 15))
  until (: <>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; do
    if ! kill -0 "$nats_server_pid" 2>/dev/null || [ $SECONDS -ge $deadline ]; then
      echo "bench.sh: nats-server did not start on 127.0.0.1:$port; last lines of its log:" >&2
      tail -n 20 "$nats_dir/nats-server.log" | sed 's/^/  | /' >&2
      exit 1
    fi
    sleep 0.05
  done
  rm -f "$nats_dir/ready"
  .build/baseline/nats_echo respond "$nats_url" 3600 "$nats_dir/ready" >"$nats_dir/nats_echo.log" 2>&1 </dev/null &
  nats_echo_pid=$!
  server_cpu $nats_echo_pid
  deadline=$((SECONDS + 15))
  until [ -e "$nats_dir/ready" ]; do
    if ! kill -0 "$nats_echo_pid" 2>/dev/null || [ $SECONDS -ge $deadline ]; then
      echo "bench.sh: the NATS echo responder did not subscribe at $nats_url; its log:" >&2
      tail -n 20 "$nats_dir/nats_echo.log" | sed 's/^/  | /' >&2
      exit 1
    fi
    sleep 0.05
  done
}

nats_down() {  # the responder, then the server, each by its PID
  local pid
  for pid in "$nats_echo_pid" "$nats_server_pid"; do
    kill "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true   # nats-server exits 1 on SIGTERM
  done
  nats_echo_pid= nats_server_pid=
}

nats_case() {  # round case
  local round=$1 case=$2 line
  case $case in
    seq64) line=$(measured $case "$nats_echo_pid" "$nats_server_pid" .build/baseline/nats_echo lat "$nats_url" $seq_n 64) ;;
    tput64) line=$(measured $case "$nats_echo_pid" "$nats_server_pid" .build/baseline/nats_echo tput "$nats_url" $tput_n 64 128) ;;
    tput1k) line=$(measured $case "$nats_echo_pid" "$nats_server_pid" .build/baseline/nats_echo tput "$nats_url" $tput1k_n 1024 128) ;;
    *) return 0 ;;
  esac
  record "$round" nats "$case" "$line"
}

mesh_case() {  # round topology file case [extra zmesh bench arguments]
  local round=$1 topology=$2 file=$3 case=$4 extra=${5:-} line pid before after broker_pid=
  pid=$(cat "$MESH_RUN_DIR/echo-1.pid")
  if [ -f "$MESH_RUN_DIR/broker-1.pid" ]; then broker_pid=$(cat "$MESH_RUN_DIR/broker-1.pid"); fi
  before=$(rss_kib "$pid")
  case $case in
    seq64) line=$(measured $case "$pid" "$broker_pid" "$zmesh" bench echo --config "$file" --requests $seq_n --concurrency 1 --size 64 --json $extra) ;;
    tput64) line=$(measured $case "$pid" "$broker_pid" "$zmesh" bench echo --config "$file" --requests $tput_n --concurrency 128 --size 64 --json $extra) ;;
    tput1k) line=$(measured $case "$pid" "$broker_pid" "$zmesh" bench echo --config "$file" --requests $tput1k_n --concurrency 128 --size 1024 --json $extra) ;;
    mdp64*)
      broker_ep=$(sed -n 's/.*name: broker-1, bind: "\(tcp:[^"]*\)".*/\1/p' "$file")
      line=$(client python3 $(mdp_client $case) "$broker_ep" echo --bench $mdp_n --size 64) ;;
  esac
  after=$(rss_kib "$pid")
  line=$(python3 -c 'import json,sys; d=json.loads(sys.argv[1]); d["service_rss_start_kib"]=int(sys.argv[2]); d["service_rss_end_kib"]=int(sys.argv[3]); print(json.dumps(d))' "$line" "$before" "$after")
  if [ -f "$MESH_RUN_DIR/broker-1.pid" ]; then
    line=$(python3 -c 'import json,sys; d=json.loads(sys.argv[1]); d["broker_rss_kib"]=int(sys.argv[2]); print(json.dumps(d))' "$line" "$(rss_kib "$(cat "$MESH_RUN_DIR/broker-1.pid")")")
  fi
  record "$round" "$topology" "$case" "$line"
}

up() {  # file (with the zmesh of $zmesh)
  ZMESH_BIN=$zmesh scripts/mesh-up.sh "$1" >/dev/null
  for pidfile in "$MESH_RUN_DIR"/*.pid; do server_cpu "$(cat "$pidfile")"; done
}

current=$zmesh
for round in $(seq 1 "$rounds"); do
  # With --compare, both builds each round, in alternating order; the baseline runs once per
  # case per round, and both builds' ratios are to it.
  # With --observed, the current build observed too. Odd rounds go in this order, even ones
  # in reverse.
  builds=current
  if [ -n "$compare" ]; then builds="$builds compared"; fi
  if [ $observed = 1 ]; then builds="$builds observed"; fi
  if [ $((round % 2)) = 0 ]; then builds=$(echo $builds | tr ' ' '\n' | tac | tr '\n' ' '); fi
  topologies="brokerless brokered"
  if [ $majordomo = 1 ]; then topologies=brokered; fi
  for topology in $topologies; do
    cases="seq64 tput64 tput1k"
    if [ $topology = brokered ]; then cases="$cases mdp64 mdp64-rfc7 mdp64-majortomo"; fi
    if [ $majordomo = 1 ]; then cases="mdp64 mdp64-rfc7 mdp64-majortomo"; fi
    if [ -n "$only" ]; then
      cases=$(for pair in $only; do if [ "${pair%%:*}" = $topology ]; then echo "${pair#*:}"; fi; done | tr '\n' ' ')
      [ -n "${cases// /}" ] || continue
    fi
    # NATS in the brokered rounds (not with --majordomo): each case's NATS run follows its
    # baseline run, before the mesh's.
    nats=0
    if [ $topology = brokered ] && [ $majordomo = 0 ]; then nats=1; nats_up; fi
    first=1
    for build in $builds; do
      file=scripts/bench/$topology.yaml extra= label=$topology zmesh=$current
      export ZMESH_TRACER=none
      case $build in
        compared) zmesh=$compare; label=$topology-compared ;;
        observed) file=scripts/bench/$topology-observed.yaml; extra=--client-metrics; label=$topology-observed
                  export ZMESH_TRACER=discard ;;
      esac
      echo "==> round $round/$rounds: $topology$([ "$builds" != current ] && echo " ($build)")"
      up "$file"
      for case in $cases; do
        if [ $first = 1 ]; then
          baseline_case "$round" "$case" "$topology"
          if [ $nats = 1 ]; then nats_case "$round" "$case"; fi
        fi
        mesh_case "$round" "$label" "$file" "$case" "$extra"
      done
      first=0
      scripts/mesh-down.sh >/dev/null
    done
    if [ $nats = 1 ]; then nats_down; fi
  done
  export ZMESH_TRACER=none
done
zmesh=$current

if [ $memory = 1 ]; then
  echo "==> memory: a service over 1,000,000 calls; a client with 10,000 in flight"
  file=scripts/bench/brokerless.yaml
  up "$file"
  pid=$(cat "$MESH_RUN_DIR/echo-1.pid")
  client "$zmesh" bench echo --config "$file" --requests 100000 --concurrency 128 --json >/dev/null
  at100k=$(rss_kib "$pid")
  client "$zmesh" bench echo --config "$file" --requests 900000 --concurrency 128 --json >/dev/null
  at1m=$(rss_kib "$pid")
  many=$(client "$zmesh" bench echo --config "$file" --requests 200000 --concurrency 10000 --warmup 10000 --json)
  python3 - "$at100k" "$at1m" "$many" >>"$raw" <<'PY'
import json, sys
at100k, at1m, many = int(sys.argv[1]), int(sys.argv[2]), json.loads(sys.argv[3])
print(json.dumps({"case": "memory", "service_rss_after_100k_kib": at100k, "service_rss_after_1m_kib": at1m,
                  "client_10k_in_flight_rss_start_kib": many["rss_start_kib"], "client_10k_in_flight_rss_end_kib": many["rss_end_kib"],
                  "client_10k_in_flight_calls_per_s": many["calls_per_s"], "client_10k_in_flight_errors": many["errors"]}))
PY
  scripts/mesh-down.sh >/dev/null
fi

python3 scripts/bench/report.py "$raw" "$out_dir/bench-$stamp.json" pin=$pin rounds=$rounds ${compare:+compared=$compare}
