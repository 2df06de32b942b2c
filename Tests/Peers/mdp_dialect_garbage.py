#!/usr/bin/env python3
"""Malformed and unexpected Majordomo traffic in the dialects beside RFC 18: MDP/0.1 (ZeroMQ
RFC 7) and majortomo 0.2.0's MDP/0.2 (an empty frame first, client commands 0x02-0x04, no
service frame in replies). Tests/Peers/mdp_garbage.py does the same for RFC 18.

    python3 Tests/Peers/mdp_dialect_garbage.py --frontend ENDPOINT --workers ENDPOINT
                                               [--wait-ms MS] [--quiet-ms MS]

Each case on its own new DEALER socket, all at once; then it listens for up to --wait-ms
(default 2500) per case, and after a DISCONNECT for --quiet-ms more (default 1700).

Workers endpoint, for each dialect (rfc7, majortomo):
  REQUIRE a DISCONNECT in the same dialect, and nothing after it (RFC 7: "The broker MUST
  respond to any valid but unexpected command by sending DISCONNECT and then no further
  commands to that worker"):
    ready_twice, heartbeat_before_ready, ready_mmi, reply_unknown_request (REPLY / FINAL for
    a client address never sent), request_from_worker
  REQUIRE silence (RFC 7: after the worker's DISCONNECT "it MUST send no further commands"):
    ready_then_disconnect
  Invalid (RFC 7: the broker SHOULD drop them and treat the peer as invalid; nothing is
  required, but anything that comes must be a valid broker command in the peer's dialect):
    unknown_command, ready_no_service, ready_extra_frame, reply_no_delimiter,
    heartbeat_extra_frame, other_dialect_after_ready (READY in one dialect, HEARTBEAT in
    another), and for MDP/0.1 no_empty_frame (MDPW01 with no empty frame first)
Front end, for each dialect: REQUESTs that fit no dialect (no body, a bad service name, a
client command other than REQUEST, RFC 18's command numbers in majortomo's framing, MDPC01
without its empty frame). MDP has no error command, so the broker must answer nothing.

Prints one JSON line: per case what was received; "missing_required_disconnect",
"wrong_dialect" (a broker command in another dialect than the peer's),
"commands_after_disconnect", "answered_garbage" (front-end cases that got any answer),
"counted_at_least" (how many messages the broker should have dropped and counted: the
invalid ones and the unexpected commands), and "ok". Exit 0 when every requirement held, 1
otherwise, 2 on bad arguments, 3 when pyzmq is missing.
"""

import argparse
import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

try:
    import zmq
except ImportError:
    print("mdp_dialect_garbage.py needs pyzmq (python3 -m pip install pyzmq)", file=sys.stderr)
    sys.exit(3)

from peer_cli import describe  # noqa: E402

# Per dialect: worker header frames, and command bytes.
DIALECTS = {
    "rfc7": {"head": [b"", b"MDPW01"], "READY": b"\x01", "REQUEST": b"\x02", "FINAL": b"\x03",
             "HEARTBEAT": b"\x04", "DISCONNECT": b"\x05", "unknown": b"\x06", "client": [b"", b"MDPC01"]},
    "majortomo": {"head": [b"", b"MDPW02"], "READY": b"\x01", "REQUEST": b"\x02", "FINAL": b"\x04",
                  "HEARTBEAT": b"\x05", "DISCONNECT": b"\x06", "unknown": b"\x07", "client": [b"", b"MDPC02", b"\x02"]},
}
ADDRESS = b"\x00\x6b\x8b\x45\x67"


def worker_cases(dialect, tag):
    """(name, expectation, messages, counted): expectation 'disconnect', 'silence' or None;
    counted: how many of the messages the broker must drop and count."""
    d = DIALECTS[dialect]

    def cmd(name, *rest):
        return d["head"] + [d[name]] + list(rest)

    def svc(name):
        return ("garbage-%s-%s-%s" % (dialect, tag, name)).encode()

    other = DIALECTS["majortomo" if dialect == "rfc7" else "rfc7"]
    return [
        ("ready_twice", "disconnect", [cmd("READY", svc("a")), cmd("READY", svc("a"))], 1),
        ("heartbeat_before_ready", "disconnect", [cmd("HEARTBEAT")], 1),
        ("ready_mmi", "disconnect", [cmd("READY", b"mmi.x")], 1),
        ("reply_unknown_request", "disconnect", [cmd("READY", svc("b")), cmd("FINAL", ADDRESS, b"", b"stray")], 1),
        ("request_from_worker", "disconnect", [cmd("READY", svc("c")), cmd("REQUEST", ADDRESS, b"", b"x")], 1),
        ("ready_then_disconnect", "silence", [cmd("READY", svc("d")), cmd("DISCONNECT")], 0),
        ("unknown_command", None, [d["head"] + [d["unknown"], svc("e")]], 1),
        ("ready_no_service", None, [cmd("READY")], 1),
        ("ready_extra_frame", None, [cmd("READY", svc("f"), b"extra")], 1),
        ("reply_no_delimiter", None, [cmd("READY", svc("g")), cmd("FINAL", ADDRESS, b"body")], 1),
        ("heartbeat_extra_frame", None, [cmd("READY", svc("h")), cmd("HEARTBEAT", b"x")], 1),
        ("other_dialect_after_ready", None, [cmd("READY", svc("j")), other["head"] + [other["HEARTBEAT"]]], 1),
    ] + ([
        # MDPW01 with no empty frame first. (majortomo's frames without it are RFC 18's: valid.)
        ("no_empty_frame", None, [d["head"][1:] + [d["READY"], svc("i")]], 1),
    ] if dialect == "rfc7" else [])


def frontend_cases(dialect):
    head = DIALECTS[dialect]["client"]
    cases = [
        ("no_body", [head + [b"echo"]]),
        ("empty_service", [head + [b"", b"x"]]),
        ("unprintable_service", [head + [b"ec\x00ho\n", b"x"]]),
        ("long_service", [head + [b"s" * 300, b"x"]]),
    ]
    if dialect == "majortomo":
        cases += [("rfc18_request_number", [[b"", b"MDPC02", b"\x01", b"echo", b"x"]]),
                  ("final_from_client", [[b"", b"MDPC02", b"\x04", b"echo", b"x"]]),
                  ("unknown_command", [[b"", b"MDPC02", b"\x09", b"echo", b"x"]])]
    else:
        cases += [("no_empty_frame", [[b"MDPC01", b"echo", b"x"]])]
    return cases


def command_of(dialect, frames):
    """The broker command `frames` is in `dialect`, or why it is not one."""
    d = DIALECTS[dialect]
    if len(frames) < 3 or frames[:2] != d["head"] or len(frames[2]) != 1:
        return None, "not a %s worker command: %s" % (dialect, describe(frames))
    names = {d["REQUEST"]: "REQUEST", d["HEARTBEAT"]: "HEARTBEAT", d["DISCONNECT"]: "DISCONNECT"}
    name = names.get(frames[2])
    if name is None:
        return None, "command 0x%s never goes from a broker to a %s worker" % (frames[2].hex(), dialect)
    if name == "REQUEST" and (len(frames) < 6 or frames[4] != b""):
        return None, "REQUEST without an address, an empty frame and a body"
    if name != "REQUEST" and len(frames) != 3:
        return None, "%s with %d frames" % (name, len(frames))
    return name, None


def new_socket(context, endpoint):
    sock = context.socket(zmq.DEALER)
    sock.setsockopt(zmq.LINGER, 0)
    sock.connect(endpoint)
    return sock


def run(context, frontend, workers, wait, quiet):
    tag = str(os.getpid())
    states = []
    for dialect in DIALECTS:
        for name, expect, messages, counted in worker_cases(dialect, tag):
            sock = new_socket(context, workers)
            for message in messages:
                sock.send_multipart(message)
            now = time.monotonic()
            states.append({"side": "workers", "name": "%s:%s" % (dialect, name), "dialect": dialect, "expect": expect,
                           "socket": sock, "sent_at": now, "deadline": now + (quiet if expect == "silence" else wait),
                           "received": [], "invalid": [], "after": [], "disconnect_at": None, "counted": counted})
        for name, messages in frontend_cases(dialect):
            sock = new_socket(context, frontend)
            for message in messages:
                sock.send_multipart(message)
            now = time.monotonic()
            states.append({"side": "frontend", "name": "frontend:%s:%s" % (dialect, name), "socket": sock, "sent_at": now,
                           "deadline": now + min(wait, 1.5), "received": [], "counted": len(messages)})
    while True:
        now = time.monotonic()
        for s in states:
            if s["socket"] is not None and now >= s["deadline"]:
                s["socket"].close(linger=0)
                s["socket"] = None
        live = [s for s in states if s["socket"] is not None]
        if not live:
            break
        poller = zmq.Poller()
        for s in live:
            poller.register(s["socket"], zmq.POLLIN)
        ready = dict(poller.poll(max(1, int((min(s["deadline"] for s in live) - now) * 1000))))
        for s in live:
            while s["socket"] in ready and s["socket"].poll(0, zmq.POLLIN):
                frames = s["socket"].recv_multipart()
                received(s, frames, quiet)
    return states


def received(state, frames, quiet):
    at = time.monotonic()
    if state["side"] == "frontend":
        state["received"].append(describe(frames))
        return
    name, problem = command_of(state["dialect"], frames)
    state["received"].append(name or "invalid")
    if problem:
        state["invalid"].append(problem)
    if state["disconnect_at"] is not None:
        state["after"].append(name or "invalid")
    elif state["expect"] == "silence":
        if name != "HEARTBEAT" or at - state["sent_at"] > 0.25:
            state["after"].append(name or "invalid")
    elif name == "DISCONNECT":
        state["disconnect_at"] = at
        state["deadline"] = at + quiet


def main():
    parser = argparse.ArgumentParser(description="malformed MDP/0.1 and majortomo traffic for a broker")
    parser.add_argument("--frontend", required=True)
    parser.add_argument("--workers", required=True)
    parser.add_argument("--wait-ms", type=int, default=2500)
    parser.add_argument("--quiet-ms", type=int, default=1700)
    args = parser.parse_args()
    if args.wait_ms <= 0 or args.quiet_ms < 0:
        parser.error("--wait-ms > 0, --quiet-ms >= 0")
    context = zmq.Context()
    states = run(context, args.frontend, args.workers, args.wait_ms / 1000.0, args.quiet_ms / 1000.0)
    context.term()
    workers = [s for s in states if s["side"] == "workers"]
    frontend = [s for s in states if s["side"] == "frontend"]
    report = {
        "cases": {s["name"]: s["received"] for s in states},
        "disconnected": sorted(s["name"] for s in workers if s["disconnect_at"] is not None),
        "missing_required_disconnect": sorted(s["name"] for s in workers
                                              if s["expect"] == "disconnect" and s["disconnect_at"] is None),
        "wrong_dialect": {s["name"]: s["invalid"] for s in workers if s["invalid"]},
        "commands_after_disconnect": {s["name"]: s["after"] for s in workers if s["after"]},
        "answered_garbage": {s["name"]: s["received"] for s in frontend if s["received"]},
        "counted_at_least": sum(s["counted"] for s in states),
    }
    report["ok"] = not (report["missing_required_disconnect"] or report["wrong_dialect"]
                        or report["commands_after_disconnect"] or report["answered_garbage"])
    print(json.dumps(report), flush=True)
    return 0 if report["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
