#!/usr/bin/env bash
# Counts what one call costs in runtime operations, not time: task switches, task
# allocations, cancellation handlers, retains, releases, object allocations and malloc
# calls per call, in a mesh client, service or broker, through perf uprobes on the Swift
# runtime and libc. Counts do not depend on the machine's noise, so a cut a timed run cannot
# resolve (a few percent) still shows here, exactly, before and after.
#
#   scripts/bench/percall.sh [--process client|echo-1|broker-1] [--topology brokerless|brokered]
#                            [--calls N] [--zmesh BIN]...
#
# Each build (default: .build/release/zmesh; --zmesh more than once to compare builds in one
# run) starts the topology (scripts/bench/<topology>.yaml), then `zmesh bench echo` runs
# N and 2N calls (128 in flight, 64 B) with the process's probes counted (perf stat, on the
# client command or attached to the node's PID); the difference over N cancels start-up and
# warm-up. Needs root (perf probe) and perf (Debian: linux-perf).
set -euo pipefail
cd "$(dirname "$0")/../.."
. scripts/lib/setup.sh
ensure_libzmq

process=client topology=brokerless calls=100000 builds=()
while [ $# -gt 0 ]; do
  case "$1" in
    --process) process=$2; shift 2 ;;
    --topology) topology=$2; shift 2 ;;
    --calls) calls=$2; shift 2 ;;
    --zmesh) builds+=("$(cd "$(dirname "$2")" && pwd)/$(basename "$2")"); shift 2 ;;
    -h|--help) sed -n '2,16p' "$0"; exit 0 ;;
    *) echo "percall.sh: unknown argument $1 (see --help)" >&2; exit 64 ;;
  esac
done
case $process in client|echo-1|broker-1) ;; *) echo "percall.sh: --process client, echo-1 or broker-1" >&2; exit 64 ;; esac
case $calls in ''|*[!0-9]*) echo "percall.sh: --calls takes a count" >&2; exit 64 ;; esac
file=scripts/bench/$topology.yaml
[ -f "$file" ] || { echo "percall.sh: no $file (--topology brokerless or brokered)" >&2; exit 64; }
if [ ${#builds[@]} = 0 ]; then
  swift build -c release --product zmesh >/dev/null
  builds=("$PWD/.build/release/zmesh")
fi
command -v perf >/dev/null || { echo "percall.sh: needs perf (apt-get install linux-perf)" >&2; exit 69; }
[ "$(id -u)" = 0 ] || { echo "percall.sh: perf probe needs root" >&2; exit 77; }

# The probes, on the libraries the first build links.
lib() { ldd "${builds[0]}" | awk -v n="$1" '$1 ~ n { print $3; exit }'; }
core=$(lib '^libswiftCore\.so') conc=$(lib '^libswift_Concurrency\.so') libc=$(lib '^libc\.so')
probes=(
  "$conc swift_task_switch" "$conc swift_task_alloc" "$conc swift_task_addCancellationHandler"
  "$conc swift_continuation_await" "$core swift_retain" "$core swift_release"
  "$core swift_allocObject" "$libc malloc"
)
# The probes this run adds are removed when it ends (those already there are left).
events=() added=()
export MESH_RUN_DIR=${MESH_RUN_DIR:-$PWD/.mesh/percall}
cleanup() {
  scripts/mesh-down.sh >/dev/null 2>&1 || true
  for event in "${added[@]}"; do perf probe -q -d "$event" >/dev/null 2>&1 || true; done
}
trap cleanup EXIT
for probe in "${probes[@]}"; do
  set -- $probe
  group=probe_$(basename "$1" | sed 's/\.so.*//; s/[^A-Za-z0-9_]/_/g')
  if ! perf probe -l 2>/dev/null | grep -q "^ *$group:$2 "; then
    perf probe -q -x "$1" --add "$2" >/dev/null 2>&1 || { echo "percall.sh: perf probe -x $1 $2 failed" >&2; exit 1; }
    added+=("$group:$2")
  fi
  events+=("$group:$2")
done
event_list=$(IFS=,; echo "${events[*]}")

count() {  # zmesh requests -> "event count" lines
  local zmesh=$1 requests=$2 out pid
  out=$(mktemp)
  local bench=("$zmesh" bench echo --config "$file" --requests "$requests" --concurrency 128 --size 64 --json)
  if [ "$process" = client ]; then
    perf stat -x, -e "$event_list" -o "$out" -- "${bench[@]}" >/dev/null
  else
    pid=$(cat "$MESH_RUN_DIR/$process.pid")
    # perf attaches with its counters off and turns them on when told, acknowledging on a
    # second FIFO: the calls start only once counting has.
    local control ack control_fd ack_fd reply
    control=$(mktemp -u) ack=$(mktemp -u)
    mkfifo "$control" "$ack"
    perf stat -x, -e "$event_list" -p "$pid" -o "$out" -D -1 --control "fifo:$control,$ack" 2> >(grep -Ev "^Events (enabled|disabled)" >&2) &
    local perf_pid=$!
    exec {control_fd}<>"$control" {ack_fd}<>"$ack"
    echo enable >&"$control_fd"
    read -r -t 30 -u "$ack_fd" reply || { echo "percall.sh: perf did not start counting" >&2; kill "$perf_pid"; exit 1; }
    "${bench[@]}" >/dev/null
    kill -INT "$perf_pid"; wait "$perf_pid" || true
    exec {control_fd}>&- {ack_fd}>&-
    rm -f "$control" "$ack"
  fi
  awk -F, '/^[0-9]/ { print $3, $1 }' "$out"
  rm -f "$out"
}

i=0
for zmesh in "${builds[@]}"; do i=$((i + 1)); echo "build $i: $zmesh"; done
printf '%-40s' "per call ($process, $topology)"
i=0
for zmesh in "${builds[@]}"; do i=$((i + 1)); printf ' %10s' "build $i"; done
echo
declare -A result
for zmesh in "${builds[@]}"; do
  ZMESH_BIN=$zmesh scripts/mesh-up.sh "$file" >/dev/null
  "$zmesh" bench echo --config "$file" --requests 20000 --concurrency 128 --json >/dev/null   # warm-up
  declare -A one=()
  while read -r event n; do one[$event]=$n; done < <(count "$zmesh" "$calls")
  while read -r event n; do
    result[$zmesh,$event]=$(awk -v a="${one[$event]:-0}" -v b="$n" -v c="$calls" 'BEGIN { printf "%.2f", (b - a) / c }')
  done < <(count "$zmesh" $((calls * 2)))
  scripts/mesh-down.sh >/dev/null
done
for event in "${events[@]}"; do
  printf '%-40s' "${event#*:}"
  for zmesh in "${builds[@]}"; do printf ' %10s' "${result[$zmesh,$event]:-?}"; done
  echo
done
