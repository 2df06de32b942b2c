#!/usr/bin/env python3
"""A Majordomo (MDP/0.2) worker for tests, on Tests/Peers/mdp.py (written from RFC 18 only).

    python3 Tests/Peers/mdp_worker.py ENDPOINT SERVICE [--mode upper|echo|slow|partials]
                                      [--delay-ms N] [--name NAME] [--heartbeat-ms 500]
                                      [--liveness 3] [--max-seconds S]

Modes (the FINAL body, per request):
  upper     every body frame upper-cased
  echo      the body frames unchanged
  slow      waits --delay-ms (default 1500), then FINAL "NAME:" + the first body frame
            (so a test can tell which worker answered); heartbeats go on while it waits
  partials  PARTIAL "NAME:part-1", PARTIAL "NAME:part-2", then FINAL "NAME:final:" + body
            (--delay-ms between them, default 0)

It prints one line per event on stdout, flushed at once, each starting with the worker's
name, so tests can follow it from its log:

  NAME READY service=SERVICE endpoint=ENDPOINT   (READY sent; again after every reconnect)
  NAME HEARTBEAT-IN first since READY            (the broker's first HEARTBEAT on this connection)
  NAME REQUEST n=N body=...                      (a REQUEST arrived and is being handled)
  NAME PARTIAL n=N                               (a PARTIAL was sent)
  NAME HANDLED n=N final=...                     (the FINAL was sent)
  NAME DISCONNECT-IN                             (the broker sent DISCONNECT)
  NAME RECONNECT reason=...                      (new socket and READY, after DISCONNECT or silence)
  NAME VIOLATION RULE: ...                       (the broker broke RFC 18: see mdp.py)
  NAME STOPPED                                   (DISCONNECT sent on shutdown)

It runs until SIGTERM/SIGINT (then sends DISCONNECT and exits 0) or SIGKILL, and at most
--max-seconds (default 3600). Exit status 2 on bad arguments, 3 when pyzmq is missing.
"""

import argparse
import os
import signal
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

try:
    import zmq  # noqa: F401
except ImportError:
    print("mdp_worker.py needs pyzmq (python3 -m pip install pyzmq)", file=sys.stderr)
    sys.exit(3)

from mdp import Worker, describe, unblock_termination_signals  # noqa: E402


def main():
    parser = argparse.ArgumentParser(description="MDP/0.2 test worker")
    parser.add_argument("endpoint")
    parser.add_argument("service")
    parser.add_argument("--mode", choices=["upper", "echo", "slow", "partials"], default="upper")
    parser.add_argument("--delay-ms", type=int, default=None)
    parser.add_argument("--name", default=None)
    parser.add_argument("--heartbeat-ms", type=int, default=500)
    parser.add_argument("--liveness", type=int, default=3)
    parser.add_argument("--max-seconds", type=float, default=3600.0)
    args = parser.parse_args()
    name = args.name or "worker-%d" % os.getpid()
    delay = (args.delay_ms if args.delay_ms is not None else (1500 if args.mode == "slow" else 0)) / 1000.0
    tag = name.encode()
    count = {"requests": 0, "partials": 0, "finals": 0}
    heard = {"since_ready": False}

    def say(text):
        print("%s %s" % (name, text), flush=True)

    def handler(body, reply):
        if args.mode == "upper":
            return [frame.upper() for frame in body]
        if args.mode == "echo":
            return body
        if args.mode == "slow":
            time.sleep(delay)
            return [tag + b":" + body[0]] + body[1:]
        # partials
        reply.partial(tag + b":part-1")
        time.sleep(delay)
        reply.partial(tag + b":part-2")
        time.sleep(delay)
        return [tag + b":final:" + body[0]] + body[1:]

    def on_event(kind, **fields):
        if kind == "ready":
            heard["since_ready"] = False
            say("READY service=%s endpoint=%s" % (fields["service"], args.endpoint))
        elif kind == "heartbeat_in":
            if not heard["since_ready"]:
                heard["since_ready"] = True
                say("HEARTBEAT-IN first since READY")
        elif kind == "request":
            count["requests"] += 1
            say("REQUEST n=%d body=%s" % (count["requests"], describe(fields["body"])))
        elif kind == "partial":
            count["partials"] += 1
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

    worker = Worker(args.endpoint, args.service, heartbeat_ms=args.heartbeat_ms, liveness=args.liveness,
                    handler=handler, on_event=on_event)
    signal.signal(signal.SIGTERM, lambda *_: worker.stop())
    signal.signal(signal.SIGINT, lambda *_: worker.stop())
    unblock_termination_signals()
    worker.run(duration=args.max_seconds)
    return 0


if __name__ == "__main__":
    sys.exit(main())
