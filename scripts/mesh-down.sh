#!/usr/bin/env bash
# Stops every node scripts/mesh-up.sh started: SIGTERM to each (a graceful drain: nodes leave
# the registries, finish the calls they hold and exit), SIGKILL to any still there after the
# grace period; then the local etcd mesh-up.sh started, if any; then removes the run directory.
#
# Environment:
#   MESH_RUN_DIR      the run directory (default .mesh/run)
#   MESH_DOWN_GRACE   seconds to wait after SIGTERM (default 15: longer than a node's own
#                     10 s grace period for the calls it holds)
#   MESH_KEEP_LOGS=1  keep the run directory's logs (pid files are removed either way)
set -uo pipefail
run_dir=${MESH_RUN_DIR:-.mesh/run}
grace=${MESH_DOWN_GRACE:-15}
[ -d "$run_dir" ] || { echo "mesh-down: nothing running ($run_dir does not exist)"; exit 0; }

pids=()
names=()
for pidfile in "$run_dir"/*.pid; do
  [ -e "$pidfile" ] || continue
  [ "$(basename "$pidfile")" = etcd.pid ] && continue   # after the nodes: they withdraw from it
  pid=$(cat "$pidfile")
  if kill -0 "$pid" 2>/dev/null; then
    kill -TERM "$pid" 2>/dev/null && { pids+=("$pid"); names+=("$(basename "$pidfile" .pid)"); }
  fi
done

deadline=$((SECONDS + grace))
while :; do
  alive=0
  for pid in "${pids[@]}"; do kill -0 "$pid" 2>/dev/null && alive=$((alive + 1)); done
  [ $alive -eq 0 ] && break
  if [ $SECONDS -ge $deadline ]; then
    for i in "${!pids[@]}"; do
      if kill -0 "${pids[$i]}" 2>/dev/null; then
        echo "mesh-down: ${names[$i]} still running after ${grace}s: SIGKILL" >&2
        kill -KILL "${pids[$i]}" 2>/dev/null
      fi
    done
    break
  fi
  sleep 0.1
done

echo "mesh-down: stopped ${#pids[@]} node(s)${names[*]:+: ${names[*]}}"
if [ -e "$run_dir/etcd.pid" ]; then
  etcd_pid=$(cat "$run_dir/etcd.pid")
  if kill -TERM "$etcd_pid" 2>/dev/null; then
    for _ in $(seq 1 100); do kill -0 "$etcd_pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$etcd_pid" 2>/dev/null && echo "mesh-down: etcd still running after 10 s: SIGKILL" >&2
    echo "mesh-down: stopped etcd"
  fi
fi
if [ "${MESH_KEEP_LOGS:-0}" = 1 ]; then
  rm -f "$run_dir"/*.pid
else
  rm -rf "$run_dir"
fi
