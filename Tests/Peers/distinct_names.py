#!/usr/bin/env python3
"""Sends many requests, each for a name nobody serves and never used before, and waits for
every answer: the attack of issue 10 (a node kept state per called name, so a caller could
grow its memory without bound).

    python3 Tests/Peers/distinct_names.py --count 300000 --form native --pattern 'zz{n}' ENDPOINT

Forms (the same generator as hostile.py's `distinct_names` kind, which sends them at random
among its other garbage):

  native   a ZMesh REQUEST (docs/PROTOCOL.md) for the name `--pattern` with {n} replaced by a
           counter: to a service node, a broker's front end or a registry
  lookup   a ZMesh REQUEST `mesh.lookup` whose body is such a name: to a registry
  mdp      a Majordomo client REQUEST (ZeroMQ RFC 18, MDP/0.2) for such a service: to a
           broker's front end

Requests go out on --sockets DEALER sockets, at most --window unanswered at once in all,
so nothing is dropped on the way and every request is answered. It stops after --count
requests have been answered, or after --seconds, and prints one line of JSON: sent,
answered, answers by kind (REPLY, ERROR status, MDP FINAL status), rate. Exit status 0 if
every request was answered, 1 if not, 2 on bad arguments, 3 without pyzmq.
"""

import argparse
import json
import sys
import time

from hostile import distinct_name_request, describe_answer

try:
    import zmq
except ImportError:
    print("distinct_names.py needs pyzmq: python3 -m pip install pyzmq", file=sys.stderr)
    sys.exit(3)


def main():
    parser = argparse.ArgumentParser(description="Request many distinct unknown names (see the docstring).")
    parser.add_argument("--count", type=int, required=True, help="requests to send and have answered")
    parser.add_argument("--form", choices=["native", "lookup", "mdp"], required=True)
    parser.add_argument("--pattern", default="zz{n}", help="the names, {n} replaced by a counter (default zz{n})")
    parser.add_argument("--window", type=int, default=2000, help="most requests unanswered at once")
    parser.add_argument("--sockets", type=int, default=4, help="DEALER sockets (peers) to spread them over")
    parser.add_argument("--seconds", type=float, default=300, help="give up after this long")
    parser.add_argument("--start", type=int, default=0, help="the first counter value")
    parser.add_argument("endpoint")
    options = parser.parse_args()
    if options.count < 1 or not 1 <= options.window <= 100_000 or not 1 <= options.sockets <= 64 \
            or not 0 < options.seconds <= 3600 or "{n}" not in options.pattern:
        parser.error("need --count >= 1, 1 <= --window <= 100000, 1 <= --sockets <= 64, "
                     "0 < --seconds <= 3600, and {n} in --pattern")

    context = zmq.Context()
    sockets = []
    poller = zmq.Poller()
    for _ in range(options.sockets):
        socket = context.socket(zmq.DEALER)
        socket.setsockopt(zmq.LINGER, 0)
        socket.setsockopt(zmq.SNDHWM, 0)
        socket.setsockopt(zmq.RCVHWM, 0)
        socket.connect(options.endpoint)
        sockets.append(socket)
        poller.register(socket, zmq.POLLIN)

    sent = answered = 0
    outstanding = [0] * len(sockets)
    per_socket_window = max(1, options.window // len(sockets))
    answers = {}
    started = time.monotonic()
    deadline = started + options.seconds
    try:
        while answered < options.count and time.monotonic() < deadline:
            for index, socket in enumerate(sockets):
                while outstanding[index] < per_socket_window and sent < options.count:
                    counter = options.start + sent
                    name = options.pattern.replace("{n}", str(counter)).encode()
                    socket.send_multipart(distinct_name_request(options.form, name, counter), copy=False)
                    outstanding[index] += 1
                    sent += 1
            for socket, _ in poller.poll(100):
                index = sockets.index(socket)
                for _ in range(10_000):
                    try:
                        frames = socket.recv_multipart(zmq.NOBLOCK)
                    except zmq.Again:
                        break
                    outstanding[index] = max(0, outstanding[index] - 1)
                    answered += 1
                    kind = describe_answer(options.form, frames)
                    answers[kind] = answers.get(kind, 0) + 1
    finally:
        for socket in sockets:
            socket.close(linger=0)
        context.term()

    elapsed = time.monotonic() - started
    print(json.dumps({
        "form": options.form, "pattern": options.pattern, "endpoint": options.endpoint,
        "sent": sent, "answered": answered, "answers": dict(sorted(answers.items())),
        "seconds": round(elapsed, 3), "per_second": round(answered / elapsed) if elapsed > 0 else 0,
    }, separators=(",", ":")))
    return 0 if answered >= options.count else 1


if __name__ == "__main__":
    sys.exit(main())
