#!/usr/bin/env python3
"""A Majordomo (MDP/0.2) client for tests, on Tests/Peers/mdp.py (written from RFC 18 only).

    python3 Tests/Peers/mdp_client.py ENDPOINT SERVICE [BODY...] [--count N] [--timeout S]
                                      [--json] [--quiet-ms MS]
    python3 Tests/Peers/mdp_client.py ENDPOINT SERVICE --bench N --size B [--raw]

Sends SERVICE a REQUEST whose body frames are BODY... (default one frame "hello"), --count
times in a row (default 1), each with --timeout seconds (default 5) for its FINAL, and
prints what came back. Every reply is checked against RFC 18 (see mdp.py: header "MDPC02",
command PARTIAL or FINAL, the service name echoed, 4 or more frames, nothing after FINAL).
After the last FINAL it waits --quiet-ms (default 100) and checks nothing more arrives.
--verbose prints "SENT n=N service=S" on stderr as each REQUEST goes out.

Output, one line per request:
  text:   PARTIAL [frames] ... then FINAL [frames]  (frames shown as by mdp.describe)
  --json: {"n": 1, "service": "echo", "partials": [["..."]], "final": ["..."], "ms": 1.2}
          with "error": "timeout" or "violation" (and "detail") when it went wrong.
          Frames are UTF-8 text (undecodable bytes as \\xNN escapes).

--bench N --size B: N sequential round trips (after min(200, N/10) unmeasured warm-up ones)
with a body of B bytes, each FINAL checked to be the body sent back; prints one JSON line:
  {"bench": "broker", "n": N, "size": B, "p50_us": .., "p99_us": .., "mean_us": .., ...}
--raw: the peer is a plain ROUTER echo (it sends back exactly the frames it got): the
REQUEST coming back unchanged is accepted as the FINAL ("bench": "raw").

Exit status: 0 when every request got its FINAL, 1 on a protocol violation, 4 on a timeout,
2 on bad arguments, 3 when pyzmq is missing.
"""

import argparse
import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

try:
    import zmq  # noqa: F401
except ImportError:
    print("mdp_client.py needs pyzmq (python3 -m pip install pyzmq)", file=sys.stderr)
    sys.exit(3)

from mdp import Client, ProtocolViolation, RequestTimeout, describe, unblock_termination_signals  # noqa: E402


def text(frame):
    return bytes(frame).decode("utf-8", "backslashreplace")


def percentile(sorted_values, fraction):
    if not sorted_values:
        return 0.0
    index = min(len(sorted_values) - 1, max(0, int(round(fraction * len(sorted_values) + 0.5)) - 1))
    return sorted_values[index]


def bench(client, service, count, size, raw, timeout):
    payload = (b"0123456789abcdef" * (size // 16 + 1))[:size]
    warm_up = min(200, count // 10)
    samples = []
    for index in range(warm_up + count):
        started = time.perf_counter_ns()
        partials, final = client.request(service, payload, timeout=timeout)
        elapsed = time.perf_counter_ns() - started
        if partials or final != [payload]:
            raise ProtocolViolation("bench", "round trip %d: expected FINAL [body] back, got %d PARTIAL(s) and %s"
                                    % (index, len(partials), describe(final)))
        if index >= warm_up:
            samples.append(elapsed / 1000.0)
    ordered = sorted(samples)
    return {
        "bench": "raw" if raw else "broker",
        "endpoint": client.endpoint,
        "service": service,
        "n": count,
        "size": size,
        "warm_up": warm_up,
        "p50_us": round(percentile(ordered, 0.50), 1),
        "p99_us": round(percentile(ordered, 0.99), 1),
        "mean_us": round(sum(samples) / len(samples), 1) if samples else 0.0,
        "min_us": round(ordered[0], 1) if ordered else 0.0,
        "max_us": round(ordered[-1], 1) if ordered else 0.0,
    }


def main():
    parser = argparse.ArgumentParser(description="MDP/0.2 test client")
    parser.add_argument("endpoint")
    parser.add_argument("service")
    parser.add_argument("body", nargs="*")
    parser.add_argument("--count", type=int, default=1)
    parser.add_argument("--timeout", type=float, default=5.0)
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--quiet-ms", type=int, default=100)
    parser.add_argument("--verbose", action="store_true", help="print SENT n=N on stderr as each REQUEST goes out")
    parser.add_argument("--bench", type=int, default=None, metavar="N")
    parser.add_argument("--size", type=int, default=64)
    parser.add_argument("--raw", action="store_true")
    args = parser.parse_args()
    if args.count < 1 or (args.bench is not None and args.bench < 1) or args.size < 0 or args.timeout <= 0:
        parser.error("--count and --bench must be at least 1, --size at least 0, --timeout positive")

    unblock_termination_signals()
    client = Client(args.endpoint, raw=args.raw)
    try:
        if args.bench is not None:
            try:
                result = bench(client, args.service, args.bench, args.size, args.raw, args.timeout)
            except (ProtocolViolation, RequestTimeout) as error:
                print(json.dumps({"bench": "raw" if args.raw else "broker", "error": str(error)}), flush=True)
                return 1 if isinstance(error, ProtocolViolation) else 4
            print(json.dumps(result), flush=True)
            return 0

        body = args.body or ["hello"]
        for n in range(1, args.count + 1):
            started = time.perf_counter()
            record = {"n": n, "service": args.service}
            try:
                sent = (lambda n=n: print("SENT n=%d service=%s" % (n, args.service), file=sys.stderr, flush=True)) \
                    if args.verbose else None
                partials, final = client.request(args.service, *body, timeout=args.timeout, on_sent=sent)
                elapsed = time.perf_counter() - started
                if n == args.count and args.quiet_ms > 0:
                    client.expect_quiet(args.quiet_ms / 1000.0)
            except ProtocolViolation as error:
                record.update(error="violation", rule=error.rule, detail=str(error))
                emit(args.json, record, "VIOLATION %s" % error)
                return 1
            except RequestTimeout as error:
                record.update(error="timeout", detail=str(error),
                              partials=[[text(f) for f in p] for p in error.partials])
                emit(args.json, record, "TIMEOUT %s" % error)
                return 4
            record.update(partials=[[text(f) for f in p] for p in partials], final=[text(f) for f in final],
                          ms=round(elapsed * 1000, 3))
            lines = ["PARTIAL %s" % describe(p) for p in partials] + ["FINAL %s" % describe(final)]
            emit(args.json, record, "\n".join(lines))
        return 0
    finally:
        client.close()


def emit(as_json, record, line):
    print(json.dumps(record) if as_json else line, flush=True)


if __name__ == "__main__":
    sys.exit(main())
