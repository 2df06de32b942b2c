#!/usr/bin/env python3
"""An MDP/0.1 (ZeroMQ RFC 7) client for tests, on Tests/Peers/mdp01.py (written from RFC 7 only).

    python3 Tests/Peers/mdp01_client.py ENDPOINT SERVICE [BODY...] [--socket req|dealer] [--count N]
                                        [--timeout S] [--json] [--quiet-ms MS] [--verbose]
    python3 Tests/Peers/mdp01_client.py ENDPOINT SERVICE --bench N --size B [--socket req|dealer]

--socket req (default) is the guide's mdcliapi: a REQ socket, which adds and takes off the
empty frame itself; --socket dealer is the guide's asynchronous mdcliapi2, which sends the
empty frame itself. Every REPLY is checked against RFC 7 (see mdp01.py). Output and exit
status as Tests/Peers/mdp_client.py (peer_cli.py); "partials" is always empty: MDP/0.1 has one
REPLY per request. Exit 3 when pyzmq is missing.
"""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

try:
    import zmq  # noqa: F401
except ImportError:
    print("mdp01_client.py needs pyzmq (python3 -m pip install pyzmq)", file=sys.stderr)
    sys.exit(3)

import peer_cli  # noqa: E402
from mdp01 import Client, ProtocolViolation, RequestTimeout  # noqa: E402


def add_arguments(parser):
    parser.add_argument("--socket", choices=["req", "dealer"], default="req")


if __name__ == "__main__":
    sys.exit(peer_cli.client_main("MDP/0.1 (RFC 7) test client", lambda args: Client(args.endpoint, args.socket),
                                  (ProtocolViolation,), (RequestTimeout,), "mdp01", add_arguments))
