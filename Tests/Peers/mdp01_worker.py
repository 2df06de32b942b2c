#!/usr/bin/env python3
"""An MDP/0.1 (ZeroMQ RFC 7) worker for tests, on Tests/Peers/mdp01.py (written from RFC 7 only).

    python3 Tests/Peers/mdp01_worker.py ENDPOINT SERVICE [--mode upper|echo|slow] [--delay-ms N]
                                        [--name NAME] [--heartbeat-ms 500] [--liveness 3]
                                        [--max-seconds S]

Single-threaded like the guide's mdwrkapi: it sends no HEARTBEAT while a request runs (slow
mode is a long silence). Modes and output lines as Tests/Peers/mdp_worker.py (peer_cli.py);
MDP/0.1 has no PARTIAL, so no partials mode. Exit 3 when pyzmq is missing.
"""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

try:
    import zmq  # noqa: F401
except ImportError:
    print("mdp01_worker.py needs pyzmq (python3 -m pip install pyzmq)", file=sys.stderr)
    sys.exit(3)

import peer_cli  # noqa: E402
from mdp01 import Worker  # noqa: E402


def make_worker(args, handler, on_event):
    return Worker(args.endpoint, args.service, heartbeat_ms=args.heartbeat_ms, liveness=args.liveness,
                  handler=lambda body: handler(body, None), on_event=on_event)


if __name__ == "__main__":
    sys.exit(peer_cli.worker_main("MDP/0.1 (RFC 7) test worker", make_worker, ["upper", "echo", "slow"]))
