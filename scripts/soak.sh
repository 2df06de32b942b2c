#!/usr/bin/env bash
# Soak test: a mixed load by name (`zmesh load`) against a mesh while nodes are killed with
# kill -9 and restarted at random moments; then a report of calls made, errors by kind, calls
# lost (must be 0), calls that ran twice (must be 0), and each node's RSS over time.
#
#   scripts/soak.sh DURATION_SECONDS          e.g. scripts/soak.sh 180
#
# Loopback only (the topology files bind 127.0.0.1). Bounded in time: mesh start-up (at most
# MESH_UP_TIMEOUT), DURATION of load, at most one call timeout (10 s) for the calls then in
# flight, and the teardown (at most MESH_DOWN_GRACE).
#
# One victim at a time: every 5-20 s (SOAK_KILL_EVERY) a random victim gets kill -9, stays
# down 1-5 s (SOAK_DOWN_FOR), is restarted exactly as mesh-up.sh starts it, and the next kill
# waits until its ready file is there. A victim is only killed while another node of its kind
# is alive (never the last echo instance, never both brokers, never kv-1, which is alone).
#
# Environment:
#   SOAK_SEED          seeds the victims and the moments, for repeatability (default: random; printed)
#   SOAK_TOPOLOGY      topology file (default topologies/ha.yaml)
#   SOAK_VICTIMS       nodes that may be killed (default: the echo-* services and, when there
#                      are two or more brokers, the first broker: echo-1 echo-2 echo-3 broker-1)
#   SOAK_CONCURRENCY   calls kept in flight by the load (default 32)
#   SOAK_MIX           the load's --mix (default zmesh load's: echo=5,count=3,kv=2)
#   SOAK_KILL_EVERY    MIN-MAX seconds from a victim being ready to the next kill (default 5-20)
#   SOAK_DOWN_FOR      MIN-MAX seconds a victim stays down (default 1-5)
#   SOAK_SAMPLE_EVERY  seconds between RSS samples and progress lines (default 5)
#   MESH_RUN_DIR       pid, log, load and CSV files (default .mesh/soak; kept after the run)
#   ZMESH_BIN          the zmesh binary (default: built, release)
#   ZMESH_PORT_OFFSET  shifts every port of the file, to run beside another mesh
#
# Files: $MESH_RUN_DIR/load.jsonl (the load's progress lines and summary), events.csv (kills,
# restarts), rss.csv (time,node,pid,rss_kib; time in seconds since the load started), the
# nodes' logs; soak-results/soak-<time>.json (the report). Exits 0 if no call was lost, none
# ran twice and every node restarted and stayed up; 1 otherwise; 64 on a usage error.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
. scripts/lib/setup.sh

usage() { awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"; }
if [ $# -eq 1 ] && { [ "$1" = -h ] || [ "$1" = --help ]; }; then usage; exit 0; fi
if [ $# -ne 1 ]; then usage >&2; exit 64; fi
duration=$1
if ! [[ "$duration" =~ ^[0-9]+$ ]] || [ "$duration" -lt 1 ]; then
  echo "soak.sh: DURATION_SECONDS must be a whole number of seconds, at least 1; got \"$duration\"" >&2
  exit 64
fi

range() {  # NAME VALUE: "MIN-MAX" seconds -> NAME_min_ms, NAME_max_ms
  local name=$1 value=$2
  if ! [[ "$value" =~ ^([0-9]+)-([0-9]+)$ ]] || [ "${BASH_REMATCH[1]}" -gt "${BASH_REMATCH[2]}" ]; then
    echo "soak.sh: expected MIN-MAX whole seconds for $name, got \"$value\"" >&2
    exit 64
  fi
  printf -v "${name}_min_ms" '%d' $((BASH_REMATCH[1] * 1000))
  printf -v "${name}_max_ms" '%d' $((BASH_REMATCH[2] * 1000))
}
range kill_every "${SOAK_KILL_EVERY:-5-20}"
range down_for "${SOAK_DOWN_FOR:-1-5}"
sample_every=${SOAK_SAMPLE_EVERY:-5}
concurrency=${SOAK_CONCURRENCY:-32}
for value in "$sample_every" "$concurrency"; do
  [[ "$value" =~ ^[1-9][0-9]*$ ]] || { echo "soak.sh: SOAK_SAMPLE_EVERY and SOAK_CONCURRENCY are whole numbers, at least 1" >&2; exit 64; }
done
seed=${SOAK_SEED:-$(( $(date +%s%N) % 1000000 ))}
[[ "$seed" =~ ^[0-9]+$ ]] || { echo "soak.sh: SOAK_SEED must be a whole number" >&2; exit 64; }
topology=${SOAK_TOPOLOGY:-topologies/ha.yaml}
[ -f "$topology" ] || { echo "soak.sh: no such topology file: $topology" >&2; exit 66; }
file=$(cd "$(dirname "$topology")" && pwd)/$(basename "$topology")
call_timeout=10

ensure_libzmq
if [ -z "${ZMESH_BIN:-}" ]; then
  echo "==> building zmesh (release)"
  swift build -c release --product zmesh 2>&1 | grep -v "prohibited flag" | tail -1
  export ZMESH_BIN=$root/.build/release/zmesh
fi
zmesh=$ZMESH_BIN
[ -x "$zmesh" ] || { echo "soak.sh: ZMESH_BIN=$zmesh is not an executable" >&2; exit 66; }

# The run directory: our own, fresh (refuse if a mesh from it is still running).
run_dir=${MESH_RUN_DIR:-.mesh/soak}
mkdir -p "$run_dir"
run_dir=$(cd "$run_dir" && pwd)
export MESH_RUN_DIR=$run_dir
for pidfile in "$run_dir"/*.pid; do
  [ -e "$pidfile" ] || continue
  if kill -0 "$(cat "$pidfile")" 2>/dev/null; then
    echo "soak.sh: a mesh is still running from $run_dir ($(basename "$pidfile" .pid)); stop it with MESH_RUN_DIR=$run_dir scripts/mesh-down.sh" >&2
    exit 1
  fi
done
# Only our own files go (MESH_RUN_DIR may be any directory).
rm -f "$run_dir"/*.pid "$run_dir"/*.ready "$run_dir"/*.log "$run_dir"/status.txt "$run_dir"/events.csv \
  "$run_dir"/rss.csv "$run_dir"/load.jsonl "$run_dir"/load.err "$run_dir"/mesh-down.txt

# The nodes of the file: name, role, kind (what may stand in for it), and how to start it.
nodes=$("$zmesh" nodes --config "$file")   # checks the file too: a bad one stops here
names=()
declare -A role kind program
while IFS=$'\t' read -r -a fields; do
  [ ${#fields[@]} -ge 2 ] || continue
  name=${fields[0]}
  names+=("$name")
  role[$name]=${fields[1]}
  if [ "${fields[1]}" = service ]; then kind[$name]=service:${name%-[0-9]*}; else kind[$name]=${fields[1]}; fi
  if [ ${#fields[@]} -gt 2 ]; then program[$name]=${fields[*]:2}; fi
done <<<"$nodes"

if [ -n "${SOAK_VICTIMS:-}" ]; then
  read -r -a victims <<<"$SOAK_VICTIMS"
  for victim in "${victims[@]}"; do
    [ -n "${role[$victim]:-}" ] || { echo "soak.sh: SOAK_VICTIMS: no node $victim in $topology" >&2; exit 64; }
    [ -z "${program[$victim]:-}" ] || { echo "soak.sh: SOAK_VICTIMS: $victim runs its own executable; only zmesh nodes can be restarted here" >&2; exit 64; }
  done
else
  victims=()
  brokers=()
  for name in "${names[@]}"; do
    if [ "${role[$name]}" = service ] && [[ "$name" == echo-* ]] && [ -z "${program[$name]:-}" ]; then victims+=("$name"); fi
    if [ "${role[$name]}" = broker ]; then brokers+=("$name"); fi
  done
  if [ ${#brokers[@]} -ge 2 ]; then victims+=("${brokers[0]}"); fi
fi
[ ${#victims[@]} -gt 0 ] || { echo "soak.sh: no node to kill in $topology (set SOAK_VICTIMS)" >&2; exit 64; }

load_pid=
torn_down=0
cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  if [ $torn_down = 0 ] && [ "$rc" != 0 ]; then echo "soak.sh: stopping (exit $rc): the load and the mesh; logs kept in $run_dir" >&2; fi
  if [ -n "$load_pid" ] && kill -0 "$load_pid" 2>/dev/null; then
    kill -TERM "$load_pid" 2>/dev/null || true
    wait "$load_pid" 2>/dev/null || true
  fi
  if [ $torn_down = 0 ]; then
    MESH_KEEP_LOGS=1 scripts/mesh-down.sh >/dev/null 2>&1 || true
  fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

RANDOM=$seed
echo "==> soak: ${duration}s of load on $(basename "$file"), seed $seed, victims ${victims[*]}"
echo "    (rerun with SOAK_SEED=$seed for the same victims and moments; files in $run_dir)"
scripts/mesh-up.sh "$file" | sed 's/^/    /'

# Milliseconds now (no fork), into $now.
tick() { local t=${EPOCHREALTIME//[.,]/}; now=$((t / 1000)); }
# A random whole number of milliseconds from $1 to $2, into $REPLY (no fork: RANDOM stays seeded).
random_ms() { REPLY=$(($1 + (RANDOM * 32768 + RANDOM) % ($2 - $1 + 1))); }
# Seconds since the load started, one decimal, into $stamp.
stamp_now() { local e=$((now - start)); printf -v stamp '%d.%d' $((e / 1000)) $((e % 1000 / 100)); }
alive() { local pid; pid=$(<"$run_dir/$1.pid") 2>/dev/null || return 1; kill -0 "$pid" 2>/dev/null; }
event() {  # EVENT NODE PID DETAIL
  stamp_now
  echo "$stamp,$1,$2,$3,$4" >>"$run_dir/events.csv"
  printf '    [%6ss] %-14s %-10s pid %-7s %s\n' "$stamp" "$1" "$2" "$3" "$4"
}

sample_rss() {
  local name pid key value unit
  stamp_now
  for name in "${names[@]}" load; do
    if [ $name = load ]; then
      [ $((now - start)) -ge 1000 ] || continue   # not the moment it was forked
      pid=$load_pid
    else pid=$(<"$run_dir/$name.pid") || continue; fi
    [ -r "/proc/$pid/status" ] || continue
    while read -r key value unit; do
      if [ "$key" = VmRSS: ]; then echo "$stamp,$name,$pid,$value" >>"$run_dir/rss.csv"; break; fi
    done <"/proc/$pid/status" 2>/dev/null || true
  done
}

show_progress() {
  local line="" next
  [ -s "$run_dir/load.jsonl" ] || return 0
  while IFS= read -r next; do line=$next; done < <(tail -n 1 "$run_dir/load.jsonl")
  if [[ "$line" =~ \"elapsed_s\":([0-9.]+).*\"calls\":([0-9]+),\"ok\":([0-9]+),\"errors\":\{([^}]*)\}.*\"ran_twice\":([0-9]+),\"lost\":([0-9]+),\"retries\":([0-9]+),\"calls_per_s\":([0-9]+),\"p99_us\":([0-9.]+|null) ]]; then
    printf '    load %6.1fs: calls %s  ok %s  lost %s  ran twice %s  retries %s  errors {%s}  %s calls/s  p99 %s us\n' \
      "${BASH_REMATCH[1]}" "${BASH_REMATCH[2]}" "${BASH_REMATCH[3]}" "${BASH_REMATCH[6]}" "${BASH_REMATCH[5]}" \
      "${BASH_REMATCH[7]}" "${BASH_REMATCH[4]}" "${BASH_REMATCH[8]}" "${BASH_REMATCH[9]}"
  fi
}

# Restarts a node exactly as mesh-up.sh starts it, detached from this shell (a subshell starts
# it and exits, so it is nobody's child here: no zombie after a later kill -9).
restart() {
  local name=$1
  rm -f "$run_dir/$name.ready"
  (
    for fd in /proc/$BASHPID/fd/*; do
      fd=${fd##*/}
      if [ "$fd" -gt 2 ] 2>/dev/null; then eval "exec $fd>&-" 2>/dev/null || true; fi
    done
    ZMESH_READY_FILE="$run_dir/$name.ready" nohup "$zmesh" node "$name" --config "$file" >>"$run_dir/$name.log" 2>&1 </dev/null &
    echo $! >"$run_dir/$name.pid"
  )
}

# May NAME be killed now: alive, and another node of its kind alive too.
killable() {
  local name=$1 other
  alive "$name" || return 1
  for other in "${names[@]}"; do
    if [ "$other" != "$name" ] && [ "${kind[$other]}" = "${kind[$name]}" ] && alive "$other"; then return 0; fi
  done
  return 1
}

echo "time,event,node,pid,detail" >"$run_dir/events.csv"
echo "time,node,pid,rss_kib" >"$run_dir/rss.csv"
load_args=(--config "$file" --seconds "$duration" --concurrency "$concurrency" --report-every "$sample_every" --timeout "$call_timeout" --json)
if [ -n "${SOAK_MIX:-}" ]; then load_args+=(--mix "$SOAK_MIX"); fi
tick
start=$now
"$zmesh" load "${load_args[@]}" >"$run_dir/load.jsonl" 2>"$run_dir/load.err" </dev/null &
load_pid=$!
echo "==> load started (pid $load_pid): zmesh load ${load_args[*]}"

declare -A pids
for name in "${names[@]}"; do pids[$name]=$(<"$run_dir/$name.pid"); done
state=idle        # idle: all up; down: victim killed; starting: victim restarted, not ready yet
victim=
random_ms "$kill_every_min_ms" "$kill_every_max_ms"
next_kill=$((start + REPLY))
next_sample=$start
next_show=$((start + sample_every * 1000 + 1000))
end_kills=$((start + duration * 1000))
watchdog=$((start + (duration + call_timeout + 60) * 1000))
while kill -0 "$load_pid" 2>/dev/null; do
  tick
  if [ "$now" -ge "$next_sample" ]; then
    sample_rss
    next_sample=$((next_sample + sample_every * 1000))
  fi
  if [ "$now" -ge "$next_show" ]; then   # a second after each of the load's progress lines
    show_progress
    next_show=$((next_show + sample_every * 1000))
  fi
  case $state in
    idle)
      if [ "$now" -ge "$next_kill" ] && [ "$now" -lt "$end_kills" ]; then
        candidates=()
        for name in "${victims[@]}"; do if killable "$name"; then candidates+=("$name"); fi; done
        if [ ${#candidates[@]} -eq 0 ]; then
          event skipped - - "no victim may be killed now"
          random_ms "$kill_every_min_ms" "$kill_every_max_ms"
          next_kill=$((now + REPLY))
        else
          victim=${candidates[RANDOM % ${#candidates[@]}]}
          pid=${pids[$victim]}
          kill -KILL "$pid" 2>/dev/null || true
          event kill "$victim" "$pid" "kill -9"
          random_ms "$down_for_min_ms" "$down_for_max_ms"
          restart_at=$((now + REPLY))
          state=down
        fi
      fi
      ;;
    down)
      if [ "$now" -ge "$restart_at" ]; then
        echo "=== soak.sh: restarting $victim after kill -9 ===" >>"$run_dir/$victim.log"
        restart "$victim"
        pids[$victim]=$(<"$run_dir/$victim.pid")
        restarted_at=$now
        event restart "$victim" "${pids[$victim]}" "started"
        state=starting
      fi
      ;;
    starting)
      if [ -s "$run_dir/$victim.ready" ]; then
        event ready "$victim" "${pids[$victim]}" "listening after $((now - restarted_at)) ms"
        state=idle
        random_ms "$kill_every_min_ms" "$kill_every_max_ms"
        next_kill=$((now + REPLY))
      elif ! kill -0 "${pids[$victim]}" 2>/dev/null || [ $((now - restarted_at)) -gt $((${MESH_UP_TIMEOUT:-30} * 1000)) ]; then
        event restart_failed "$victim" "${pids[$victim]}" "not listening after $((now - restarted_at)) ms (see $victim.log)"
        state=failed   # no more kills: the mesh is one node short
      fi
      ;;
  esac
  # Any node that died on its own is a finding: record it (once) and leave it down.
  for name in "${names[@]}"; do
    if [ "$name" != "$victim" ] || [ "$state" = idle ]; then
      if [ "${pids[$name]}" != dead ] && ! kill -0 "${pids[$name]}" 2>/dev/null; then
        event died "$name" "${pids[$name]}" "exited without being killed (see $name.log)"
        pids[$name]=dead
      fi
    fi
  done
  if [ "$now" -ge "$watchdog" ]; then
    event load_overran load "$load_pid" "still running $((call_timeout + 60)) s after its end: SIGTERM"
    kill -TERM "$load_pid" 2>/dev/null || true
    watchdog=$((now + 3600 * 1000))   # once
  fi
  sleep 0.2
done
load_rc=0
wait "$load_pid" || load_rc=$?
tick
sample_rss
stamp_now
echo "==> load ended after ${stamp}s (exit $load_rc); stopping the mesh"
MESH_KEEP_LOGS=1 scripts/mesh-down.sh >"$run_dir/mesh-down.txt" 2>&1 || true
torn_down=1
sed 's/^/    /' "$run_dir/mesh-down.txt"

mkdir -p soak-results
result=soak-results/soak-$(date -u +%Y%m%dT%H%M%SZ).json
report_rc=0
python3 - "$run_dir" "$result" "$duration" "$seed" "$file" "$load_rc" "${victims[*]}" "${names[*]}" <<'PY' || report_rc=$?
import csv, json, os, sys

run_dir, result, duration, seed, topology, load_rc, victims, names = sys.argv[1:9]
duration, seed, load_rc = int(duration), int(seed), int(load_rc)
victims, names = victims.split(), names.split()

progress, summary = [], None
with open(os.path.join(run_dir, "load.jsonl")) as f:
    for line in f:
        line = line.strip()
        if not line:
            continue
        try:
            item = json.loads(line)
        except ValueError:
            continue
        if item.get("type") == "progress":
            progress.append(item)
        elif item.get("type") == "summary":
            summary = item
with open(os.path.join(run_dir, "events.csv")) as f:
    events = list(csv.DictReader(f))
with open(os.path.join(run_dir, "rss.csv")) as f:
    samples = list(csv.DictReader(f))
with open(os.path.join(run_dir, "mesh-down.txt")) as f:
    mesh_down = f.read()

problems = []
if summary is None:
    err = open(os.path.join(run_dir, "load.err")).read().strip().splitlines()
    problems.append("the load printed no summary (exit %d): %s" % (load_rc, err[-1] if err else "no output"))
    summary = progress[-1] if progress else {}
calls = summary.get("calls", 0)
ok = summary.get("ok", 0)
errors = summary.get("errors", {})
wrong = summary.get("wrong", 0)
ran_twice = summary.get("ran_twice", 0)
lost = summary.get("lost", 0)
# Count honestly: every call ends exactly once, in ok, an error or a wrong reply.
if calls != ok + sum(errors.values()) + wrong:
    problems.append("counts do not add up: calls %d != ok %d + errors %d + wrong %d" % (calls, ok, sum(errors.values()), wrong))
if lost != sum(errors.values()) + wrong:
    problems.append("lost %d != errors + wrong replies %d" % (lost, sum(errors.values()) + wrong))
if lost > 0:
    problems.append("%d call(s) lost" % lost)
if ran_twice > 0:
    problems.append("%d call(s) ran twice" % ran_twice)
if calls == 0:
    problems.append("no call was made")
for e in events:
    if e["event"] == "restart_failed":
        problems.append("%s did not come back after its restart (at %s s)" % (e["node"], e["time"]))
    if e["event"] == "died":
        problems.append("%s exited without being killed (noticed at %s s)" % (e["node"], e["time"]))
    if e["event"] == "load_overran":
        problems.append("the load ran past its end")
for line in mesh_down.splitlines():
    if "SIGKILL" in line:
        problems.append("teardown: " + line.strip())

kills = {n: 0 for n in names}
ready_ms = {n: [] for n in names}
for e in events:
    if e["event"] == "kill":
        kills[e["node"]] += 1
    if e["event"] == "ready":
        ready_ms[e["node"]].append(int(e["detail"].split()[2]))

rss = {}
for s in samples:
    rss.setdefault(s["node"], []).append((float(s["time"]), s["pid"], int(s["rss_kib"])))
nodes_rss = {}
for node in names + ["load"]:
    points = rss.get(node, [])
    if not points:
        continue
    last_pid = points[-1][1]
    current = [p for p in points if p[1] == last_pid]
    nodes_rss[node] = {
        "samples": len(points), "first_kib": points[0][2], "last_kib": points[-1][2],
        "max_kib": max(p[2] for p in points), "processes": len(dict.fromkeys(p[1] for p in points)),
        "last_process_first_kib": current[0][2], "last_process_since_s": current[0][0],
    }

# When calls were lost, which kills were near: progress periods where lost went up.
timeline, previous, previous_t = [], 0, 0.0
for p in progress + ([summary] if summary and summary.get("type") == "summary" else []):
    t = p.get("elapsed_s", 0.0)
    if p.get("lost", 0) > previous:
        near = ["%s %s at %s s" % (e["event"], e["node"], e["time"]) for e in events
                if e["event"] in ("kill", "restart", "ready", "died", "restart_failed") and previous_t - 3 <= float(e["time"]) <= t]
        timeline.append({"from_s": previous_t, "to_s": t, "lost": p["lost"] - previous, "errors_so_far": p.get("errors", {}), "events": near})
    previous, previous_t = p.get("lost", 0), t

report = {
    "duration_s": duration, "seed": seed, "topology": topology, "victims": victims,
    "elapsed_s": summary.get("elapsed_s"), "kills": kills, "restart_ready_ms": ready_ms,
    "calls": calls, "ok": ok, "errors": errors, "wrong": wrong, "ran_twice": ran_twice, "lost": lost,
    "by_name": summary.get("by_name"), "retries": summary.get("retries"), "late_replies": summary.get("late_replies"),
    "calls_per_s": summary.get("calls_per_s"), "p50_us": summary.get("p50_us"), "p99_us": summary.get("p99_us"),
    "p999_us": summary.get("p999_us"), "max_us": summary.get("max_us"),
    "rss": nodes_rss, "lost_timeline": timeline, "events": events, "load_summary": summary,
    "problems": problems, "passed": not problems, "run_dir": run_dir,
}
with open(result, "w") as f:
    json.dump(report, f, indent=2)

def kib(v):
    return "%.1f MiB" % (v / 1024)

print()
print("SOAK REPORT  (seed %d, %s)" % (seed, os.path.basename(topology)))
print("  duration     %d s of load (%.1f s with the last calls)" % (duration, summary.get("elapsed_s") or 0))
total_kills = sum(kills.values())
print("  kills        %d: %s" % (total_kills, ", ".join("%s %d" % (n, kills[n]) for n in victims)))
all_ready = sorted(ms for n in names for ms in ready_ms[n])
if all_ready:
    print("  restarts     listening again %d-%d ms after start" % (all_ready[0], all_ready[-1]))
print("  calls        %d (%s calls/s), ok %d" % (calls, summary.get("calls_per_s", "?"), ok))
by_name = summary.get("by_name", {})
if by_name:
    print("  by name      %s" % ", ".join("%s %d%s" % (n, v["calls"], " (lost %d)" % v["lost"] if v["lost"] else "") for n, v in sorted(by_name.items())))
print("  errors       %s" % (", ".join("%s %d" % kv for kv in sorted(errors.items())) or "none"))
print("  wrong        %d reply(ies) not the correct one" % wrong)
print("  LOST         %d  (must be 0: errors + wrong replies)" % lost)
print("  RAN TWICE    %d  (must be 0: echo.count answered above 1)" % ran_twice)
print("  retries      %s re-sends after a node died, %s late replies" % (summary.get("retries", "?"), summary.get("late_replies", "?")))
print("  latency      p50 %s us, p99 %s us, p99.9 %s us, max %s us (correct replies)" % (
    summary.get("p50_us", "?"), summary.get("p99_us", "?"), summary.get("p999_us", "?"), summary.get("max_us", "?")))
print("  RSS          first sample / last sample / max; a restarted node starts over")
for node, r in nodes_rss.items():
    note = ""
    if r["processes"] > 1:
        note = "  (%d processes; the last one since %.0f s: %s -> %s)" % (
            r["processes"], r["last_process_since_s"], kib(r["last_process_first_kib"]), kib(r["last_kib"]))
    print("    %-11s %10s %10s %10s%s" % (node, kib(r["first_kib"]), kib(r["last_kib"]), kib(r["max_kib"]), note))
count_keys = by_name.get("echo.count", {}).get("calls", 0)
if count_keys:
    print("               (echo instances keep a counter per echo.count key: %d keys in all, so their RSS grows by design)" % count_keys)
for t in timeline:
    print("  lost +%d between %.1f s and %.1f s; near: %s" % (t["lost"], t["from_s"], t["to_s"], ", ".join(t["events"]) or "no kill"))
print("  files        %s (load.jsonl, events.csv, rss.csv, logs), %s" % (run_dir, result))
if problems:
    print("FAIL: " + "; ".join(problems))
    sys.exit(1)
print("PASS: no call lost, none ran twice, every killed node came back")
PY
exit $report_rc
