#!/usr/bin/env python3
"""Simulates N service instances heartbeating to one ZMesh registry, and measures it.

    registry_sim.py --endpoint tcp://127.0.0.1:5760 --pid PID --instances 1000 --mode compact

Each instance is its own DEALER, its ZeroMQ routing id its instance id (PROTOCOL.md "One
connection, one instance"), heartbeating every interval at a phase of its own. `--mode full`
sends the whole announcement JSON every beat (what nodes before keep-alives did, and still
do to a registry that never acknowledges one); `--mode compact` sends the JSON with
`"keep_alive":true` first, then a 4-byte keep-alive (the load) once the registry has
acknowledged it, and the JSON again when the registry asks for it.

Instance i serves `fleet`; the first 1,000 also serve `thousand`. Once every instance has
been accepted (and a settle time), it measures the registry's CPU share over a window from
/proc/PID/stat (utime + stime over wall time) while the instances go on beating, then times
`mesh.lookup thousand` and `mesh.lookup` of everything. Prints one JSON line.

Instances are spread over worker processes of at most 4,000 sockets each (a socket takes a
TCP descriptor and a mailbox descriptor); the simulator's CPU is not the registry's.
"""
import argparse
import json
import multiprocessing
import os
import resource
import struct
import sys
import time

import zmq

HEARTBEAT, REQUEST, REPLY = 0x05, 0x01, 0x02
PER_PROCESS = 4000


def header(command, name=b"", client=0, sequence=0):
    return (b"ZM" + bytes([1, command, 0, 0]) + struct.pack(">HQQI", 0, client, sequence, 0xFFFFFFFF)
            + bytes([len(name)]) + name)


def announcement(i, mode, interval_ms, run):
    services = ["fleet", "thousand"] if i < 1000 else ["fleet"]
    body = {"instance": f"sim-{run}-{i:06d}", "node": f"sim-{i}", "endpoint": f"tcp://10.{i // 65536 % 256}.{i // 256 % 256}.{i % 256}:5601",
            "services": services, "load": 0, "capacity": 256, "interval_ms": interval_ms}
    if mode == "compact":
        body["keep_alive"] = True
    return json.dumps(body, separators=(",", ":")).encode()


def worker(args, first, count, stop_at, counts):
    """Heartbeats instances first..first+count-1 until stop_at (wall clock)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    context = zmq.Context(io_threads=1)
    context.set(zmq.MAX_SOCKETS, count + 64)
    interval = args.interval_ms / 1000
    beat = header(HEARTBEAT)
    sockets, bodies, acked = [], [], []
    for i in range(first, first + count):
        s = context.socket(zmq.DEALER)
        s.setsockopt(zmq.ROUTING_ID, f"sim-{args.run}-{i:06d}".encode())
        s.setsockopt(zmq.LINGER, 0)
        s.setsockopt(zmq.SNDHWM, 16)
        s.connect(args.endpoint)
        sockets.append(s)
        bodies.append(announcement(i, args.mode, args.interval_ms, args.run))
        acked.append(False)
    # Instance k beats at start + phase_k + n * interval.
    start = time.monotonic()
    phases = [(k * interval / count) for k in range(count)]
    next_beat = [start + p for p in phases]
    sent = full = 0
    k = 0
    while time.time() < stop_at:
        now = time.monotonic()
        due = next_beat[k]
        if due > now:
            time.sleep(min(due - now, 0.01))
            continue
        s = sockets[k]
        if args.mode == "compact":
            # What the registry said since the last beat: status 0 = taken, 404 = send it whole.
            while True:
                try:
                    reply = s.recv_multipart(zmq.NOBLOCK)
                except zmq.Again:
                    break
                if len(reply) >= 2 and len(reply[1]) >= 8 and reply[1][3] == HEARTBEAT:
                    acked[k] = struct.unpack(">H", reply[1][6:8])[0] == 0
        try:
            if acked[k]:
                s.send_multipart([b"", beat, struct.pack(">I", k % 8)], zmq.NOBLOCK)
            else:
                s.send_multipart([b"", beat, bodies[k]], zmq.NOBLOCK)
                full += 1
            sent += 1
        except zmq.Again:
            pass
        next_beat[k] = max(due + interval, now)
        k = (k + 1) % count
    counts.put((sent, full))
    for s in sockets:
        s.close(0)
    context.term()


def lookup(socket, name_arg, sequence):
    socket.send_multipart([b"", header(REQUEST, b"mesh.lookup", client=7, sequence=sequence), name_arg])
    started = time.perf_counter()
    while True:  # skip late answers to earlier look-ups
        left = 5000 - (time.perf_counter() - started) * 1000
        if left <= 0 or not socket.poll(left):
            return None, 0, 0
        frames = socket.recv_multipart()
        if len(frames) > 1 and len(frames[1]) >= 24 and struct.unpack(">Q", frames[1][16:24])[0] == sequence:
            break
    elapsed = (time.perf_counter() - started) * 1000
    body = frames[2] if len(frames) > 2 else b""
    try:
        instances = len(json.loads(body)["instances"])
    except (ValueError, KeyError):
        instances = -1
    return elapsed, instances, len(body)


def cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--endpoint", required=True)
    parser.add_argument("--pid", type=int, required=True, help="the registry's process id")
    parser.add_argument("--instances", type=int, default=1000)
    parser.add_argument("--mode", choices=["full", "compact"], default="compact")
    parser.add_argument("--interval-ms", type=int, default=500)
    parser.add_argument("--window", type=float, default=10.0, help="seconds of CPU measurement")
    parser.add_argument("--settle", type=float, default=3.0, help="seconds after every instance is live")
    parser.add_argument("--join-timeout", type=float, default=60.0)
    parser.add_argument("--run", default=str(os.getpid()))
    args = parser.parse_args()

    n = args.instances
    budget = args.join_timeout + args.settle + args.window + 30
    stop_at = time.time() + budget
    counts = multiprocessing.Queue()
    workers = []
    for first in range(0, n, PER_PROCESS):
        p = multiprocessing.Process(target=worker, args=(args, first, min(PER_PROCESS, n - first), stop_at, counts))
        p.start()
        workers.append(p)

    context = zmq.Context()
    client = context.socket(zmq.DEALER)
    client.setsockopt(zmq.LINGER, 0)
    client.setsockopt(zmq.MAXMSGSIZE, -1)
    client.connect(args.endpoint)
    sequence = 0
    result = {"instances": n, "mode": args.mode, "interval_ms": args.interval_ms}
    try:
        # Wait until the registry lists every instance.
        deadline = time.monotonic() + args.join_timeout
        live = 0
        while time.monotonic() < deadline:
            sequence += 1
            _, live, _ = lookup(client, b"fleet", sequence)
            if live == n:
                break
            time.sleep(0.5)
        result["joined"] = live
        time.sleep(args.settle)
        before, wall = cpu_seconds(args.pid), time.monotonic()
        time.sleep(args.window)
        used, elapsed = cpu_seconds(args.pid) - before, time.monotonic() - wall
        result["registry_cpu_percent"] = round(100 * used / elapsed, 1)
        result["beats_per_second"] = round(n * 1000 / args.interval_ms)
        result["us_per_beat"] = round(1e6 * used / elapsed / (n * 1000 / args.interval_ms), 1)
        for label, arg in (("lookup_thousand", b"thousand"), ("lookup_all", b"")):
            times = []
            for _ in range(5):
                sequence += 1
                ms, count, size = lookup(client, arg, sequence)
                times.append(ms)
                result[label + "_instances"] = count
                result[label + "_bytes"] = size
            answered = sorted(t for t in times if t is not None)
            result[label + "_ms"] = round(answered[len(answered) // 2], 2) if answered else None
            result[label + "_unanswered"] = len(times) - len(answered)
    finally:
        client.close(0)
        context.term()
        for p in workers:
            p.terminate()
        for p in workers:
            p.join(5)
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
