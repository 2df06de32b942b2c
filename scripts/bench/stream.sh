#!/usr/bin/env bash
# Server streams (scripts/bench.sh --stream): one-way streams of 64-byte messages, beside a
# raw libzmq PUSH/PULL stream (scripts/bench/zstream.c) in the same rounds, and the
# flow-control case of issue 15: 1,000,000 messages to a reader that takes 1,000 a second
# for 5 s, then reads fast, with the RSS of the producer, the broker and the reader.
#
#   scripts/bench/stream.sh [--rounds R] [--messages N] [--window W] [--sweep "W1 W2"] [--smoke] [--compare BIN]
#
# Rows per round: raw (PUSH -> PULL), zmesh broker-less (zmesh bench stream.count --stream
# --window W against scripts/bench/brokerless.yaml) and zmesh brokered (brokered.yaml).
# W is the reader's window (default 4096 messages, 256 KiB of 64-byte messages: less than the
# raw pair buffers, 1,000 messages in each HWM plus the kernel's TCP buffers; the client API's
# default is 64). --sweep adds broker-less rows at other windows in the same rounds (default
# 1024; --sweep "" for none): the rate is bounded by window / credit round trip. The
# flow-control case uses the client API's default window. --compare BIN adds both mesh rows
# for another build's zmesh (say, the previous main's).
# Results: bench-results/stream-<time>.jsonl.
set -euo pipefail
cd "$(dirname "$0")/../.."
. scripts/lib/setup.sh
ensure_libzmq

rounds=3
messages=1000000
window=4096
sweep=1024
smoke=0
compare=
while [ $# -gt 0 ]; do
  case "$1" in
    --rounds) rounds=$2; shift 2 ;;
    --messages) messages=$2; shift 2 ;;
    --window) window=$2; shift 2 ;;
    --sweep) sweep=$2; shift 2 ;;
    --smoke) smoke=1; rounds=1; messages=2000; sweep=; shift ;;
    --compare)
      compare=$(cd "$(dirname "$2")" && pwd)/$(basename "$2")
      [ -x "$compare" ] || { echo "stream.sh: --compare $2: no executable there" >&2; exit 64; }
      shift 2 ;;
    -h|--help) sed -n '2,17p' "$0"; exit 0 ;;
    *) echo "stream.sh: unknown option $1 (see --help)" >&2; exit 64 ;;
  esac
done
slow_rate=1000
slow_seconds=5
[ $smoke = 1 ] && slow_seconds=1
if [ -z "${ZMESH_BIN:-}" ]; then
  if [ $smoke = 1 ]; then
    swift build --product zmesh 2>&1 | grep -v "prohibited flag" | tail -1
    export ZMESH_BIN=$PWD/.build/debug/zmesh
  else
    echo "==> building zmesh (release)"
    swift build -c release --product zmesh 2>&1 | grep -v "prohibited flag" | tail -1
    export ZMESH_BIN=$PWD/.build/release/zmesh
  fi
fi
mkdir -p .build/baseline bench-results
cc -O2 -Wall -o .build/baseline/zstream scripts/bench/zstream.c $(pkg-config --cflags --libs libzmq)
out="bench-results/stream-$(date -u +%Y%m%dT%H%M%SZ).jsonl"
: >"$out"
export MESH_RUN_DIR=${MESH_RUN_DIR:-.mesh/bench-stream}
pull_pid=
cleanup() {
  [ -n "$pull_pid" ] && kill "$pull_pid" 2>/dev/null || true
  scripts/mesh-down.sh >/dev/null 2>&1 || true
}
trap cleanup EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
rss_kib() { awk '/VmRSS/ {print $2}' "/proc/$1/status" 2>/dev/null || echo 0; }
record() {  # round row json
  python3 -c 'import json,sys; d=json.loads(sys.argv[3]); d["round"]=int(sys.argv[1]); d["row"]=sys.argv[2]; print(json.dumps(d))' \
    "$1" "$2" "$3" >>"$out"
}

# CPU time in ns a process has used so far, every thread.
cpu_ns() { cat /proc/"$1"/task/*/schedstat 2>/dev/null | awk '{ total += $1 } END { printf "%.0f", total }'; }
# Adds CPU per message (us) to a round's JSON line: name=ns-before:ns-after pairs.
with_cpu() {  # json name=before:after...
  python3 - "$messages" "$@" <<'PY'
import json, sys
messages, d = int(sys.argv[1]), json.loads(sys.argv[2])
for pair in sys.argv[3:]:
    name, span = pair.split("=")
    before, after = (float(v) for v in span.split(":"))
    d[name] = round((after - before) / 1e3 / messages, 3)
print(json.dumps(d))
PY
}

raw_round() {
  local port pull_cpu push_cpu
  port=$(free_port)
  # Each side's CPU (user and system seconds) from bash's time.
  ( TIMEFORMAT='%3U %3S'; time .build/baseline/zstream pull "tcp://127.0.0.1:$port" "$messages" >"$MESH_RUN_DIR.raw" ) 2>"$MESH_RUN_DIR.pull-cpu" &
  pull_pid=$!
  push_cpu=$( { TIMEFORMAT='%3U %3S'; time .build/baseline/zstream push "tcp://127.0.0.1:$port" "$messages" 64 >/dev/null; } 2>&1 )
  wait "$pull_pid"
  pull_pid=
  pull_cpu=$(cat "$MESH_RUN_DIR.pull-cpu")
  record "$1" raw "$(with_cpu "$(cat "$MESH_RUN_DIR.raw")" \
    "consumer_cpu_us=0:$(echo "$pull_cpu" | awk '{printf "%.0f", ($1 + $2) * 1e9}')" \
    "producer_cpu_us=0:$(echo "$push_cpu" | awk '{printf "%.0f", ($1 + $2) * 1e9}')")"
}

mesh_round() {  # round file row [zmesh [window]]
  local zmesh=${4:-$ZMESH_BIN} window=${5:-$window} line producer broker=0 p0 b0=0 cpu
  ZMESH_BIN=$zmesh scripts/mesh-up.sh "$2" >/dev/null
  producer=$(cat "$MESH_RUN_DIR/echo-1.pid")
  [ -f "$MESH_RUN_DIR/broker-1.pid" ] && broker=$(cat "$MESH_RUN_DIR/broker-1.pid")
  p0=$(cpu_ns "$producer")
  [ "$broker" != 0 ] && b0=$(cpu_ns "$broker")
  line=$("$zmesh" bench stream.count --stream --requests "$messages" --size 64 --window "$window" --config "$2" --json)
  cpu=("producer_cpu_us=$p0:$(cpu_ns "$producer")")
  [ "$broker" != 0 ] && cpu+=("broker_cpu_us=$b0:$(cpu_ns "$broker")")
  # The reader's own measure, over its stream.
  line=$(python3 -c 'import json,sys; d=json.loads(sys.argv[1]); d["consumer_cpu_us"]=d.pop("cpu_us_per_message", None); print(json.dumps(d))' "$line")
  record "$1" "$3" "$(with_cpu "$line" "${cpu[@]}")"
  scripts/mesh-down.sh >/dev/null
}

echo "==> one-way streams of $messages 64-byte messages, $rounds rounds (results in $out)"
mkdir -p "$(dirname "$MESH_RUN_DIR")"
for round in $(seq "$rounds"); do
  raw_round "$round"
  mesh_round "$round" scripts/bench/brokerless.yaml zmesh-brokerless
  mesh_round "$round" scripts/bench/brokered.yaml zmesh-brokered
  for other in $sweep; do
    mesh_round "$round" scripts/bench/brokerless.yaml "brokerless-w$other" "$ZMESH_BIN" "$other"
  done
  if [ -n "$compare" ]; then
    mesh_round "$round" scripts/bench/brokerless.yaml compared-brokerless "$compare"
    mesh_round "$round" scripts/bench/brokered.yaml compared-brokered "$compare"
  fi
done

echo "==> flow control: $messages messages through a broker to a reader taking $slow_rate/s for ${slow_seconds}s"
scripts/mesh-up.sh scripts/bench/brokered.yaml >/dev/null
producer=$(cat "$MESH_RUN_DIR/echo-1.pid")
broker=$(cat "$MESH_RUN_DIR/broker-1.pid")
producer_start=$(rss_kib "$producer")
broker_start=$(rss_kib "$broker")
"$ZMESH_BIN" bench stream.count --stream --requests "$messages" --size 64 --slow-rate "$slow_rate" \
  --slow-seconds "$slow_seconds" --config scripts/bench/brokered.yaml --json >"$MESH_RUN_DIR.flow" &
reader=$!
producer_peak=$producer_start
broker_peak=$broker_start
while kill -0 "$reader" 2>/dev/null; do   # ends with the reader (its own deadline bounds it)
  producer_peak=$(( $(rss_kib "$producer") > producer_peak ? $(rss_kib "$producer") : producer_peak ))
  broker_peak=$(( $(rss_kib "$broker") > broker_peak ? $(rss_kib "$broker") : broker_peak ))
  sleep 0.2
done
wait "$reader" || true
flow=$(cat "$MESH_RUN_DIR.flow")
record 1 flow-control "$(python3 -c 'import json,sys; d=json.loads(sys.argv[1]); d.update(producer_rss_start_kib=int(sys.argv[2]), producer_rss_peak_kib=int(sys.argv[3]), broker_rss_start_kib=int(sys.argv[4]), broker_rss_peak_kib=int(sys.argv[5])); print(json.dumps(d))' \
  "$flow" "$producer_start" "$producer_peak" "$broker_start" "$broker_peak")"
scripts/mesh-down.sh >/dev/null

python3 - "$out" <<'PY'
import json, statistics, sys
rows = [json.loads(line) for line in open(sys.argv[1])]
raw = {r["round"]: r["messages_per_second"] for r in rows if r["row"] == "raw"}
print(f"window: {next((r.get('window') for r in rows if r['row'] != 'raw'), '?')} messages (brokerless-wN rows: N)")
names = list(dict.fromkeys(r["row"] for r in rows if r["row"] != "flow-control"))
print(f"{'row':<20} {'messages/s (median)':>20} {'x raw (median of rounds)':>25} {'rounds':>30}")
for name in names:
    group = [r for r in rows if r["row"] == name]
    rates = [r["messages_per_second"] for r in group]
    ratios = [r["messages_per_second"] / raw[r["round"]] for r in group if raw.get(r["round"])]
    ok = all(r.get("in_order", True) and r.get("error") is None for r in group)
    print(f"{name:<20} {statistics.median(rates):>20,.0f} {statistics.median(ratios):>24.3f}x "
          f"{', '.join(f'{v:,.0f}' for v in rates):>30}{'' if ok else '  NOT IN ORDER'}")
print()
print("CPU per message, us (medians; user + system, every thread; the reader's over its stream)")
print(f"{'row':<20} {'consumer':>10} {'producer':>10} {'broker':>10}")
for name in names:
    group = [r for r in rows if r["row"] == name]
    def med(key):
        values = [r[key] for r in group if r.get(key) is not None]
        return f"{statistics.median(values):.3f}" if values else "-"
    print(f"{name:<20} {med('consumer_cpu_us'):>10} {med('producer_cpu_us'):>10} {med('broker_cpu_us'):>10}")
flow = next(r for r in rows if r["row"] == "flow-control")
print()
print(f"flow control: {flow['messages']:,} messages, {'in order' if flow['in_order'] else 'OUT OF ORDER'}, "
      f"{flow['seconds']:.1f} s, error: {flow['error']}")
print(f"  producer RSS {flow['producer_rss_start_kib']:,} -> peak {flow['producer_rss_peak_kib']:,} KiB; "
      f"broker {flow['broker_rss_start_kib']:,} -> peak {flow['broker_rss_peak_kib']:,} KiB; "
      f"reader {flow['rss_start_kib']:,} -> peak {flow['rss_peak_kib']:,} KiB")
PY
