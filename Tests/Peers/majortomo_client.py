#!/usr/bin/env python3
"""majortomo 0.2.0's Client (PyPI, unmodified) as a test client: the main Python Majordomo
library, which calls itself MDP/0.2 but frames requests as `'' MDPC02 0x02 service body...`
and takes replies as `'' MDPC02 0x03|0x04 body...` (PARTIAL, FINAL; no service frame).

    python3 Tests/Peers/majortomo_client.py ENDPOINT SERVICE [BODY...] [--count N] [--timeout S]
                                            [--json] [--quiet-ms MS] [--verbose]
    python3 Tests/Peers/majortomo_client.py ENDPOINT SERVICE --bench N --size B

Output and exit status as Tests/Peers/mdp_client.py (peer_cli.py): the library's
ProtocolError is a violation, its Timeout a timeout. Exit 3 when majortomo is missing
(scripts/test.sh installs it: scripts/lib/setup.sh, ensure_majortomo).
"""

import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

try:
    import zmq
    from majortomo import Client
    from majortomo import error as majortomo_error
except ImportError as missing:
    print("majortomo_client.py needs majortomo 0.2.0 (python3 -m pip install majortomo==0.2.0): %s" % missing,
          file=sys.stderr)
    sys.exit(3)

import peer_cli  # noqa: E402


class MajortomoClient:
    """The library's Client, driven as the other test clients are: one request at a time,
    every part received; after a timeout it reconnects on a new socket."""

    def __init__(self, endpoint):
        self.endpoint = endpoint
        self.client = Client(endpoint)
        self.client.connect()

    def request(self, service, *body, timeout=5.0, on_sent=None):
        self.client.send(service, *[frame.encode() if isinstance(frame, str) else frame for frame in body])
        if on_sent is not None:
            on_sent()
        parts = []
        deadline = time.monotonic() + timeout
        try:
            # recv_all ends after the FINAL; its timeout is per part.
            for part in self.client.recv_all(timeout=max(0.001, deadline - time.monotonic())):
                parts.append(part)
        except majortomo_error.Timeout:
            self.client.connect(reconnect=True)
            raise peer_cli.Timeout("no FINAL for %r within %.3f s" % (service, timeout), parts)
        except majortomo_error.ProtocolError as error:
            raise peer_cli.Violation("majortomo", str(error))
        if not parts:
            raise peer_cli.Violation("majortomo", "the request ended with no reply part")
        return parts[:-1], parts[-1]

    def expect_quiet(self, seconds):
        # Nothing may follow the FINAL. The library has no call for this, so its socket is
        # polled directly (read only; the library is not changed).
        socket = self.client._socket
        if socket is not None and socket.poll(int(seconds * 1000), zmq.POLLIN):
            raise peer_cli.Violation("after-final", "a message arrived after the FINAL: %s"
                                     % peer_cli.describe(socket.recv_multipart()))

    def close(self):
        self.client.close()


if __name__ == "__main__":
    sys.exit(peer_cli.client_main("majortomo 0.2.0 test client", lambda args: MajortomoClient(args.endpoint),
                                  (peer_cli.Violation,), (peer_cli.Timeout,), "majortomo"))
