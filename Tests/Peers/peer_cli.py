"""The command lines of the Majordomo test peers of every dialect, shared.

mdp01_client.py, mdp01_worker.py (MDP/0.1, on mdp01.py) and majortomo_client.py,
majortomo_worker.py (majortomo 0.2.0 from PyPI, unmodified) print exactly what the RFC 18
peers mdp_client.py and mdp_worker.py print, so the Swift tests read them all alike.

Clients:

    PEER ENDPOINT SERVICE [BODY...] [--count N] [--timeout S] [--json] [--quiet-ms MS] [--verbose]
    PEER ENDPOINT SERVICE --bench N --size B

  --json: one line per request, {"n": 1, "service": "echo", "partials": [[...]], "final": [...], "ms": 1.2},
  with "error": "timeout" or "violation" and "detail" when it went wrong; --verbose: "SENT n=N
  service=S" on stderr as each REQUEST goes out; after the last reply it checks that nothing
  more arrives for --quiet-ms (default 100). --bench: N sequential round trips after
  min(200, N/10) unmeasured ones, each reply checked to be the body sent; one JSON line with
  p50_us, p99_us, mean_us, min_us, max_us. Exit 0 when every request got its reply, 1 on a
  protocol violation, 4 on a timeout.

Workers:

    PEER ENDPOINT SERVICE [--mode upper|echo|slow|partials] [--delay-ms N] [--name NAME]
                          [--heartbeat-ms MS] [--liveness N] [--max-seconds S]

  modes: upper (every body frame upper-cased), echo, slow (waits --delay-ms, default 1500,
  then "NAME:" + the first body frame), partials (where the dialect has PARTIAL: "NAME:part-1",
  "NAME:part-2", then "NAME:final:" + body). Lines on stdout, each starting with NAME: READY,
  HEARTBEAT-IN first since READY, REQUEST n=N body=..., PARTIAL n=N, HANDLED n=N final=...,
  DISCONNECT-IN, RECONNECT reason=..., VIOLATION ..., STOPPED. SIGTERM/SIGINT: DISCONNECT, exit 0.
"""

import argparse
import json
import os
import signal
import sys
import time


def text(frame):
    return bytes(frame).decode("utf-8", "backslashreplace")


def describe(frames):
    """Frames as a readable list: printable ASCII as text, anything else as hex."""
    parts = []
    for frame in frames:
        frame = bytes(frame)
        if frame and all(32 <= b < 127 for b in frame):
            shown = frame.decode("ascii")
            parts.append(repr(shown if len(shown) <= 64 else shown[:64] + "..."))
        else:
            parts.append("0x" + frame[:32].hex() + ("..." if len(frame) > 32 else "") if frame else "''")
    return "[" + ", ".join(parts) + "]"


def percentile(sorted_values, fraction):
    if not sorted_values:
        return 0.0
    index = min(len(sorted_values) - 1, max(0, int(round(fraction * len(sorted_values) + 0.5)) - 1))
    return sorted_values[index]


def unblock_termination_signals():
    """Lets SIGTERM and SIGINT in (processes started from Swift concurrency threads inherit a
    mask that blocks them)."""
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGTERM, signal.SIGINT})


class Violation(Exception):
    """A reply that breaks the dialect's rules."""

    def __init__(self, rule, message):
        self.rule = rule
        super().__init__("%s: %s" % (rule, message))


class Timeout(Exception):
    """No final reply in time."""

    def __init__(self, message, partials=()):
        self.partials = list(partials)
        super().__init__(message)


def bench(client, service, count, size, timeout, label):
    payload = (b"0123456789abcdef" * (size // 16 + 1))[:size]
    warm_up = min(200, count // 10)
    samples = []
    for index in range(warm_up + count):
        started = time.perf_counter_ns()
        partials, final = client.request(service, payload, timeout=timeout)
        elapsed = time.perf_counter_ns() - started
        if partials or final != [payload]:
            raise Violation("bench", "round trip %d: expected the body back, got %d PARTIAL(s) and %s"
                            % (index, len(partials), describe(final)))
        if index >= warm_up:
            samples.append(elapsed / 1000.0)
    ordered = sorted(samples)
    return {"bench": label, "endpoint": client.endpoint, "service": service, "n": count, "size": size,
            "warm_up": warm_up, "p50_us": round(percentile(ordered, 0.50), 1),
            "p99_us": round(percentile(ordered, 0.99), 1),
            "mean_us": round(sum(samples) / len(samples), 1) if samples else 0.0,
            "min_us": round(ordered[0], 1) if ordered else 0.0, "max_us": round(ordered[-1], 1) if ordered else 0.0}


def client_main(description, make_client, violations, timeouts, label, add_arguments=None):
    """Runs a client command line. ``make_client(args)`` returns an object with ``endpoint``,
    ``request(service, *body, timeout=, on_sent=)`` -> (partials, final), ``expect_quiet(s)``
    and ``close()``; it raises one of ``violations`` or ``timeouts``."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("endpoint")
    parser.add_argument("service")
    parser.add_argument("body", nargs="*")
    parser.add_argument("--count", type=int, default=1)
    parser.add_argument("--timeout", type=float, default=5.0)
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--quiet-ms", type=int, default=100)
    parser.add_argument("--verbose", action="store_true")
    parser.add_argument("--bench", type=int, default=None, metavar="N")
    parser.add_argument("--size", type=int, default=64)
    if add_arguments:
        add_arguments(parser)
    args = parser.parse_args()
    if args.count < 1 or (args.bench is not None and args.bench < 1) or args.size < 0 or args.timeout <= 0:
        parser.error("--count and --bench must be at least 1, --size at least 0, --timeout positive")
    unblock_termination_signals()
    client = make_client(args)
    try:
        if args.bench is not None:
            try:
                print(json.dumps(bench(client, args.service, args.bench, args.size, args.timeout, label)), flush=True)
                return 0
            except violations + timeouts as error:
                print(json.dumps({"bench": label, "error": str(error)}), flush=True)
                return 1 if isinstance(error, violations) else 4
        for n in range(1, args.count + 1):
            record = {"n": n, "service": args.service}
            started = time.perf_counter()
            sent = (lambda n=n: print("SENT n=%d service=%s" % (n, args.service), file=sys.stderr, flush=True)) \
                if args.verbose else None
            try:
                partials, final = client.request(args.service, *(args.body or ["hello"]), timeout=args.timeout,
                                                 on_sent=sent)
                elapsed = time.perf_counter() - started
                if n == args.count and args.quiet_ms > 0:
                    client.expect_quiet(args.quiet_ms / 1000.0)
            except violations as error:
                record.update(error="violation", rule=getattr(error, "rule", "protocol"), detail=str(error))
                emit(args.json, record, "VIOLATION %s" % error)
                return 1
            except timeouts as error:
                record.update(error="timeout", detail=str(error),
                              partials=[[text(f) for f in p] for p in getattr(error, "partials", [])])
                emit(args.json, record, "TIMEOUT %s" % error)
                return 4
            record.update(partials=[[text(f) for f in p] for p in partials], final=[text(f) for f in final],
                          ms=round(elapsed * 1000, 3))
            emit(args.json, record, "\n".join(["PARTIAL %s" % describe(p) for p in partials]
                                              + ["FINAL %s" % describe(final)]))
        return 0
    finally:
        client.close()


def emit(as_json, record, line):
    print(json.dumps(record) if as_json else line, flush=True)


def worker_main(description, make_worker, modes, default_heartbeat_ms=500):
    """Runs a worker command line. ``make_worker(args, handler, on_event)`` returns an object
    with ``run(duration)`` and ``stop()``; ``handler(body, partial)`` gets a function that
    sends a PARTIAL (None where the dialect has none)."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("endpoint")
    parser.add_argument("service")
    parser.add_argument("--mode", choices=modes, default="upper")
    parser.add_argument("--delay-ms", type=int, default=None)
    parser.add_argument("--name", default=None)
    parser.add_argument("--heartbeat-ms", type=int, default=default_heartbeat_ms)
    parser.add_argument("--liveness", type=int, default=3)
    parser.add_argument("--max-seconds", type=float, default=3600.0)
    args = parser.parse_args()
    name = args.name or "worker-%d" % os.getpid()
    delay = (args.delay_ms if args.delay_ms is not None else (1500 if args.mode == "slow" else 0)) / 1000.0
    tag = name.encode()
    count = {"requests": 0, "finals": 0, "heard": False}

    def say(line):
        print("%s %s" % (name, line), flush=True)

    def handler(body, partial):
        if args.mode == "upper":
            return [frame.upper() for frame in body]
        if args.mode == "echo":
            return body
        if args.mode == "slow":
            time.sleep(delay)
            return [tag + b":" + body[0]] + body[1:]
        partial([tag + b":part-1"])
        time.sleep(delay)
        partial([tag + b":part-2"])
        time.sleep(delay)
        return [tag + b":final:" + body[0]] + body[1:]

    def on_event(kind, **fields):
        if kind == "ready":
            count["heard"] = False
            say("READY service=%s endpoint=%s" % (fields["service"], args.endpoint))
        elif kind == "heartbeat_in" and not count["heard"]:
            count["heard"] = True
            say("HEARTBEAT-IN first since READY")
        elif kind == "request":
            count["requests"] += 1
            say("REQUEST n=%d body=%s" % (count["requests"], describe(fields["body"])))
        elif kind == "partial":
            say("PARTIAL n=%d" % count["requests"])
        elif kind == "final":
            count["finals"] += 1
            say("HANDLED n=%d final=%s" % (count["requests"], describe(fields["body"])))
        elif kind == "disconnect_in":
            say("DISCONNECT-IN")
        elif kind == "reconnect":
            say("RECONNECT reason=%s" % fields.get("reason"))
        elif kind == "violation":
            say("VIOLATION %s" % fields["text"])
        elif kind == "stopped":
            say("STOPPED requests=%d finals=%d" % (count["requests"], count["finals"]))

    worker = make_worker(args, handler, on_event)
    signal.signal(signal.SIGTERM, lambda *_: worker.stop())
    signal.signal(signal.SIGINT, lambda *_: worker.stop())
    unblock_termination_signals()
    worker.run(duration=args.max_seconds)
    return 0
