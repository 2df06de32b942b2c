#!/usr/bin/env python3
"""Sends malformed and unexpected Majordomo (MDP/0.2) traffic to a broker for a bounded time.

    python3 Tests/Peers/mdp_garbage.py [--frontend ENDPOINT] [--workers ENDPOINT]
                                       [--seconds S] [--seed N] [--wait-ms MS] [--quiet-ms MS]

Written from ZeroMQ RFC 18 (18/MDP) and RFC 8 (8/MMI) only. Two parts:

1. Scripted cases, each on its own new DEALER socket, all at once. Then it listens for up
   to --wait-ms (default 2500) per case, and after any DISCONNECT for --quiet-ms more
   (default 1700, more than heartbeat 500 ms x liveness 3) to see that nothing follows.

   Workers endpoint. RFC 18: "The broker MUST respond to any valid but unexpected command by
   sending DISCONNECT and then no further commands to that worker"; RFC 8: the broker "MUST
   disconnect any workers that attempt to register services in this namespace" (mmi.).
   These cases REQUIRE a DISCONNECT, and nothing after it:
     ready_twice, ready_twice_other_service   READY, then READY again ("MUST NOT send a further READY")
     heartbeat_before_ready                   HEARTBEAT ("valid at any time, after a READY")
     ready_mmi                                READY "mmi.x" (RFC 8)
     partial_unknown_request                  READY, then PARTIAL for a client address never sent
     final_unknown_request                    READY, then FINAL for a client address never sent
     partial_before_ready, final_before_ready PARTIAL / FINAL with no READY before
     (the four above also as *_addr16: the same with a 16-byte client address)
     request_from_worker                      READY, then REQUEST (a broker-to-worker command)
     request_before_ready                     REQUEST with no READY before
   RFC 18: "When the broker receives DISCONNECT from a worker it MUST send no further commands
   to that worker". These cases REQUIRE silence (after a 250 ms grace for a heartbeat already
   on its way when the DISCONNECT arrived):
     ready_then_disconnect, disconnect_before_ready
   Invalid messages (RFC 18: the broker SHOULD drop them and treat the peer as invalid; a
   DISCONNECT MAY come, nothing is required; whether one came is reported):
     ready_no_service, ready_extra_frame, ready_empty_service, ready_unprintable_service,
     heartbeat_extra_frame, final_no_delimiter, final_no_body, final_two_addresses,
     unknown_command, command_two_bytes, empty_command, protocol_mdpw01, protocol_mdpc02,
     protocol_lowercase, header_only, random_frames
   On every workers-endpoint socket, everything the broker sends must be a valid broker
   command (MDPW02 + REQUEST with address/empty/body, HEARTBEAT or DISCONNECT of 2 frames).

   Front end (MDP/Client has no error command, so nothing is required; what comes back is
   reported, and must be a valid MDPC02 PARTIAL/FINAL if it looks like MDP at all):
     unknown_command_00/04/ff, partial_from_client, final_from_client, header_only,
     no_service, no_body, command_two_bytes, empty_service, unprintable_service,
     invalid_utf8_service, long_service, protocol_mdpc01, protocol_lowercase,
     protocol_trailing_nul, protocol_mdpx02, worker_ready, worker_heartbeat,
     worker_disconnect, worker_final

2. Random traffic for --seconds (default 3) at --rate messages a second (default 2000;
   at most --max-messages, default 50,000): several sockets to each endpoint send random
   frames, MDP headers with random commands and random frames, and truncated commands;
   everything received is drained (and on the workers endpoint checked as above).

It prints one JSON line: per case what was sent and received, "disconnected" (cases that got
DISCONNECT), "missing_required_disconnect", "commands_after_disconnect", "invalid_from_broker",
the random phase's counts, and "ok". Exit status 0 when every requirement held, 1 when a
required DISCONNECT did not come, a command followed a DISCONNECT or the broker sent an
invalid message to a worker socket; 2 on bad arguments, 3 when pyzmq is missing.
"""

import argparse
import json
import os
import random
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

try:
    import zmq
except ImportError:
    print("mdp_garbage.py needs pyzmq (python3 -m pip install pyzmq)", file=sys.stderr)
    sys.exit(3)

from mdp import (MDPC, MDPW, W_READY, W_REQUEST, W_PARTIAL, W_FINAL, W_HEARTBEAT,  # noqa: E402
                 W_DISCONNECT, C_REQUEST, C_PARTIAL, C_FINAL, describe)

GRACE_AFTER_WORKER_DISCONNECT = 0.25


def worker_cases(tag):
    """(name, expectation, messages): expectation is 'disconnect', 'silence' or None."""
    def svc(name):
        return ("garbage-%s-%s" % (tag, name)).encode()

    # Client addresses never sent by anyone. RFC 18 makes the client address one opaque frame;
    # `address` has the shape libzmq's ROUTER gives peers (5 bytes, a 0 byte first), `address16`
    # is 16 bytes: each case is tried with both, so the report shows whether the broker's
    # answer depends on the address's length.
    address = b"\x00\x6b\x8b\x45\x67"
    address16 = b"\x00" * 8 + b"\xff" * 8
    return [
        ("ready_twice", "disconnect", [[MDPW, W_READY, svc("a")], [MDPW, W_READY, svc("a")]]),
        ("ready_twice_other_service", "disconnect", [[MDPW, W_READY, svc("b")], [MDPW, W_READY, svc("c")]]),
        ("heartbeat_before_ready", "disconnect", [[MDPW, W_HEARTBEAT]]),
        ("ready_mmi", "disconnect", [[MDPW, W_READY, b"mmi.x"]]),
        ("partial_unknown_request", "disconnect",
         [[MDPW, W_READY, svc("d")], [MDPW, W_PARTIAL, address, b"", b"stray partial"]]),
        ("final_unknown_request", "disconnect",
         [[MDPW, W_READY, svc("e")], [MDPW, W_FINAL, address, b"", b"stray final"]]),
        ("partial_before_ready", "disconnect", [[MDPW, W_PARTIAL, address, b"", b"stray partial"]]),
        ("final_before_ready", "disconnect", [[MDPW, W_FINAL, address, b"", b"stray final"]]),
        ("partial_unknown_request_addr16", "disconnect",
         [[MDPW, W_READY, svc("d16")], [MDPW, W_PARTIAL, address16, b"", b"stray partial"]]),
        ("final_unknown_request_addr16", "disconnect",
         [[MDPW, W_READY, svc("e16")], [MDPW, W_FINAL, address16, b"", b"stray final"]]),
        ("partial_before_ready_addr16", "disconnect", [[MDPW, W_PARTIAL, address16, b"", b"stray partial"]]),
        ("final_before_ready_addr16", "disconnect", [[MDPW, W_FINAL, address16, b"", b"stray final"]]),
        ("request_from_worker", "disconnect",
         [[MDPW, W_READY, svc("f")], [MDPW, W_REQUEST, address, b"", b"a request from a worker"]]),
        ("request_before_ready", "disconnect", [[MDPW, W_REQUEST, address, b"", b"a request from a worker"]]),
        ("ready_then_disconnect", "silence", [[MDPW, W_READY, svc("g")], [MDPW, W_DISCONNECT]]),
        ("disconnect_before_ready", "silence", [[MDPW, W_DISCONNECT]]),
        ("ready_no_service", None, [[MDPW, W_READY]]),
        ("ready_extra_frame", None, [[MDPW, W_READY, svc("h"), b"extra"]]),
        ("ready_empty_service", None, [[MDPW, W_READY, b""]]),
        ("ready_unprintable_service", None, [[MDPW, W_READY, b"\x00\x01bad\n\xff"]]),
        ("heartbeat_extra_frame", None, [[MDPW, W_READY, svc("i")], [MDPW, W_HEARTBEAT, b"x"]]),
        ("final_no_delimiter", None, [[MDPW, W_READY, svc("j")], [MDPW, W_FINAL, address, b"body"]]),
        ("final_no_body", None, [[MDPW, W_READY, svc("k")], [MDPW, W_FINAL, address, b""]]),
        ("final_two_addresses", None,
         [[MDPW, W_READY, svc("l")], [MDPW, W_FINAL, address, address, b"", b"body"]]),
        ("unknown_command", None, [[MDPW, b"\x07"], [MDPW, b"\x00", svc("m")], [MDPW, b"\xff", b"x", b"", b"y"]]),
        ("command_two_bytes", None, [[MDPW, b"\x01\x00", svc("n")]]),
        ("empty_command", None, [[MDPW, b"", svc("o")]]),
        ("protocol_mdpw01", None, [[b"MDPW01", W_READY, svc("p")]]),
        ("protocol_mdpc02", None, [[MDPC, W_READY, svc("q")]]),
        ("protocol_lowercase", None, [[b"mdpw02", W_READY, svc("r")]]),
        ("header_only", None, [[MDPW]]),
        ("random_frames", None, [[os.urandom(n) for n in (1, 7, 0, 33)], [os.urandom(200)]]),
    ]


def frontend_cases():
    return [
        ("unknown_command_00", [[MDPC, b"\x00", b"echo", b"x"]]),
        ("unknown_command_04", [[MDPC, b"\x04", b"echo", b"x"]]),
        ("unknown_command_ff", [[MDPC, b"\xff", b"echo", b"x"]]),
        ("partial_from_client", [[MDPC, C_PARTIAL, b"echo", b"x"]]),
        ("final_from_client", [[MDPC, C_FINAL, b"echo", b"x"]]),
        ("header_only", [[MDPC]]),
        ("no_service", [[MDPC, C_REQUEST]]),
        ("no_body", [[MDPC, C_REQUEST, b"echo"]]),
        ("command_two_bytes", [[MDPC, b"\x01\x00", b"echo", b"x"]]),
        ("empty_service", [[MDPC, C_REQUEST, b"", b"x"]]),
        ("unprintable_service", [[MDPC, C_REQUEST, b"ec\x00ho\n\x1b", b"x"]]),
        ("invalid_utf8_service", [[MDPC, C_REQUEST, b"\xff\xfe\xc0\xaf", b"x"]]),
        ("long_service", [[MDPC, C_REQUEST, b"s" * 4096, b"x"]]),
        ("protocol_mdpc01", [[b"MDPC01", C_REQUEST, b"echo", b"x"]]),
        ("protocol_lowercase", [[b"mdpc02", C_REQUEST, b"echo", b"x"]]),
        ("protocol_trailing_nul", [[MDPC + b"\x00", C_REQUEST, b"echo", b"x"]]),
        ("protocol_mdpx02", [[b"MDPX02", C_REQUEST, b"echo", b"x"]]),
        ("worker_ready", [[MDPW, W_READY, b"echo"]]),
        ("worker_heartbeat", [[MDPW, W_HEARTBEAT]]),
        ("worker_disconnect", [[MDPW, W_DISCONNECT]]),
        ("worker_final", [[MDPW, W_FINAL, b"\x00abc", b"", b"x"]]),
    ]


def broker_command_problem(frames):
    """Why `frames` is not a valid broker-to-worker command (RFC 18), or None."""
    if len(frames) < 2 or frames[0] != MDPW or len(frames[1]) != 1:
        return "not MDPW02 + one command byte"
    command = frames[1]
    if command in (W_HEARTBEAT, W_DISCONNECT):
        return None if len(frames) == 2 else "HEARTBEAT/DISCONNECT with %d frames" % len(frames)
    if command == W_REQUEST:
        if len(frames) < 5 or len(frames[2]) == 0 or frames[3] != b"":
            return "REQUEST without one client address, an empty frame and a body"
        return None
    return "command 0x%s never goes from broker to worker" % command.hex()


def client_reply_problem(frames):
    """Why a front-end reply that claims to be MDP is not a valid PARTIAL/FINAL, or None."""
    if len(frames) < 4 or len(frames[1]) != 1 or frames[1] not in (C_PARTIAL, C_FINAL):
        return "not PARTIAL/FINAL with 4 or more frames"
    return None


def command_name(frames):
    names = {W_READY: "READY", W_REQUEST: "REQUEST", W_PARTIAL: "PARTIAL", W_FINAL: "FINAL",
             W_HEARTBEAT: "HEARTBEAT", W_DISCONNECT: "DISCONNECT"}
    if len(frames) >= 2 and frames[0] == MDPW:
        return names.get(frames[1], "0x" + frames[1].hex())
    return "non-MDPW " + describe(frames)


def new_socket(context, endpoint):
    sock = context.socket(zmq.DEALER)
    sock.setsockopt(zmq.LINGER, 0)
    sock.setsockopt(zmq.SNDHWM, 1000)
    sock.setsockopt(zmq.RCVHWM, 1000)
    sock.connect(endpoint)
    return sock


def run_scripted(context, frontend, workers, wait, quiet, tag):
    report = {"workers": {}, "frontend": {}}
    states = []  # dicts with socket, deadline, ...
    started = time.monotonic()
    if workers:
        for name, expectation, messages in worker_cases(tag):
            sock = new_socket(context, workers)
            for message in messages:
                sock.send_multipart(message)
            sent_at = time.monotonic()
            states.append({"side": "workers", "name": name, "expect": expectation, "socket": sock,
                           "sent_at": sent_at, "received": [], "disconnect_at": None, "after": [],
                           "invalid": [], "deadline": sent_at + (quiet if expectation == "silence" else wait)})
    if frontend:
        for name, messages in frontend_cases():
            sock = new_socket(context, frontend)
            for message in messages:
                sock.send_multipart(message)
            sent_at = time.monotonic()
            states.append({"side": "frontend", "name": name, "socket": sock, "sent_at": sent_at,
                           "received": [], "invalid": [], "deadline": sent_at + min(wait, 1.5)})

    while True:
        now = time.monotonic()
        live = [s for s in states if s["socket"] is not None and now < s["deadline"]]
        for s in states:
            if s["socket"] is not None and now >= s["deadline"]:
                s["socket"].close(linger=0)
                s["socket"] = None
        if not live:
            break
        poller = zmq.Poller()
        for s in live:
            poller.register(s["socket"], zmq.POLLIN)
        timeout = max(1, int((min(s["deadline"] for s in live) - now) * 1000))
        ready = dict(poller.poll(timeout))
        for s in live:
            if s["socket"] not in ready:
                continue
            while s["socket"].poll(0, zmq.POLLIN):
                frames = s["socket"].recv_multipart()
                at = time.monotonic()
                if s["side"] == "frontend":
                    s["received"].append(describe(frames))
                    if frames and frames[0] == MDPC:
                        problem = client_reply_problem(frames)
                        if problem:
                            s["invalid"].append("%s: %s" % (problem, describe(frames)))
                    continue
                name = command_name(frames)
                s["received"].append(name)
                problem = broker_command_problem(frames)
                if problem:
                    s["invalid"].append("%s: %s" % (problem, describe(frames)))
                if s["disconnect_at"] is not None:
                    s["after"].append(name)  # RFC 18: nothing may follow the broker's DISCONNECT
                elif s["expect"] == "silence":
                    # Nothing may follow the worker's DISCONNECT: only a HEARTBEAT already on its
                    # way when the DISCONNECT arrived is excused.
                    if name != "HEARTBEAT" or at - s["sent_at"] > GRACE_AFTER_WORKER_DISCONNECT:
                        s["after"].append(name)
                elif name == "DISCONNECT":
                    s["disconnect_at"] = at
                    s["deadline"] = at + quiet

    for s in states:
        if s["side"] == "workers":
            entry = {"expect": s["expect"] or "nothing required", "received": s["received"],
                     "disconnect": s["disconnect_at"] is not None}
            if s["disconnect_at"] is not None:
                entry["disconnect_ms"] = round((s["disconnect_at"] - s["sent_at"]) * 1000, 1)
            if s["after"]:
                entry["after_disconnect"] = s["after"]
            if s["invalid"]:
                entry["invalid"] = s["invalid"]
            report["workers"][s["name"]] = entry
        else:
            entry = {"received": s["received"]}
            if s["invalid"]:
                entry["invalid"] = s["invalid"]
            report["frontend"][s["name"]] = entry
    report["scripted_seconds"] = round(time.monotonic() - started, 2)
    return report


def random_message(rng, side):
    choice = rng.random()
    def junk(count_max=6, size_max=64):
        return [bytes(rng.getrandbits(8) for _ in range(rng.randint(0, size_max)))
                for _ in range(rng.randint(1, count_max))]
    header = MDPW if side == "workers" else MDPC
    if choice < 0.3:
        return junk()
    if choice < 0.6:
        return [header, bytes([rng.randint(0, 255)])] + junk(4, 32)[: rng.randint(0, 4)]
    if choice < 0.8:
        # a real command cut short or padded
        command = bytes([rng.randint(1, 6)])
        full = [header, command, b"garbage-random", b"", b"body"]
        return full[: rng.randint(1, 5)] + (junk(2, 8) if rng.random() < 0.3 else [])
    # the other side's header, or a header with one byte changed
    other = MDPC if side == "workers" else MDPW
    mutated = bytearray(header)
    mutated[rng.randrange(len(mutated))] = rng.randint(0, 255)
    return [rng.choice([other, bytes(mutated)]), bytes([rng.randint(0, 7)])] + junk(3, 16)


def run_random(context, frontend, workers, seconds, seed, max_messages, rate):
    rng = random.Random(seed)
    sockets = []
    for side, endpoint in (("frontend", frontend), ("workers", workers)):
        if endpoint:
            for _ in range(3):
                sockets.append((side, new_socket(context, endpoint)))
    counts = {"sent": 0, "dropped_eagain": 0, "received": 0, "disconnects": 0, "invalid_from_broker": []}
    started = time.monotonic()
    end = started + seconds
    while time.monotonic() < end and counts["sent"] < max_messages and sockets:
        side, sock = rng.choice(sockets)
        try:
            sock.send_multipart(random_message(rng, side), flags=zmq.NOBLOCK)
            counts["sent"] += 1
        except zmq.Again:
            counts["dropped_eagain"] += 1
        for other_side, other in sockets:
            while other.poll(0, zmq.POLLIN):
                frames = other.recv_multipart()
                counts["received"] += 1
                if other_side == "workers":
                    if command_name(frames) == "DISCONNECT":
                        counts["disconnects"] += 1
                    problem = broker_command_problem(frames)
                    if problem and len(counts["invalid_from_broker"]) < 10:
                        counts["invalid_from_broker"].append("%s: %s" % (problem, describe(frames)))
        # A steady stream at --rate, not a flood (Tests/Peers/hostile.py does floods).
        ahead = started + (counts["sent"] + counts["dropped_eagain"]) / rate - time.monotonic()
        if ahead > 0:
            time.sleep(ahead)
    for _, sock in sockets:
        sock.close(linger=0)
    counts["seconds"] = round(time.monotonic() - started, 2)
    return counts


def main():
    parser = argparse.ArgumentParser(description="malformed MDP/0.2 traffic for a broker")
    parser.add_argument("--frontend")
    parser.add_argument("--workers")
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--seed", type=int, default=18)
    parser.add_argument("--wait-ms", type=int, default=2500)
    parser.add_argument("--quiet-ms", type=int, default=1700)
    parser.add_argument("--max-messages", type=int, default=50_000)
    parser.add_argument("--rate", type=float, default=2000.0, help="random messages per second")
    args = parser.parse_args()
    if not args.frontend and not args.workers:
        parser.error("give --frontend, --workers or both")
    if args.seconds < 0 or args.seconds > 600 or args.wait_ms <= 0 or args.quiet_ms < 0 or args.rate <= 0:
        parser.error("--seconds 0..600, --wait-ms > 0, --quiet-ms >= 0, --rate > 0")

    context = zmq.Context()
    tag = "%d-%d" % (os.getpid(), args.seed)
    report = run_scripted(context, args.frontend, args.workers, args.wait_ms / 1000.0, args.quiet_ms / 1000.0, tag)
    report["random"] = run_random(context, args.frontend, args.workers, args.seconds, args.seed, args.max_messages,
                                  args.rate)
    context.term()

    workers = report["workers"]
    report["disconnected"] = sorted(name for name, entry in workers.items() if entry["disconnect"])
    report["missing_required_disconnect"] = sorted(
        name for name, entry in workers.items() if entry["expect"] == "disconnect" and not entry["disconnect"])
    report["commands_after_disconnect"] = {name: entry["after_disconnect"] for name, entry in workers.items()
                                           if entry.get("after_disconnect")}
    report["invalid_from_broker"] = {name: entry["invalid"] for name, entry in workers.items() if entry.get("invalid")}
    report["invalid_from_broker"].update({"frontend:" + name: entry["invalid"]
                                          for name, entry in report["frontend"].items() if entry.get("invalid")})
    if report["random"]["invalid_from_broker"]:
        report["invalid_from_broker"]["random"] = report["random"]["invalid_from_broker"]
    report["ok"] = not (report["missing_required_disconnect"] or report["commands_after_disconnect"]
                        or report["invalid_from_broker"])
    print(json.dumps(report), flush=True)
    return 0 if report["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
