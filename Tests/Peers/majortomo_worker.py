#!/usr/bin/env python3
"""majortomo 0.2.0's Worker (PyPI, unmodified) as a test worker: it frames every command as
`'' MDPW02 command ...` (RFC 18's numbers, with an empty frame first), and like the guide's
MDP/0.1 worker it sends no HEARTBEAT while a request runs.

    python3 Tests/Peers/majortomo_worker.py ENDPOINT SERVICE [--mode upper|echo|slow|partials]
                                            [--delay-ms N] [--name NAME] [--heartbeat-ms 250]
                                            [--liveness 3] [--max-seconds S]

Modes and output lines as Tests/Peers/mdp_worker.py (peer_cli.py). The library reports
heartbeats and reconnects only in its log, so those lines come from its logger
("majortomo.worker"). --heartbeat-ms is the library's heartbeat_interval: keep it at half the
broker's interval or less, because the library waits up to the time since its last send plus
the interval before it sends the next one (so up to about three intervals pass between its
heartbeats). Its heartbeat_timeout is 2 x heartbeat-ms x liveness. Exit 3 when majortomo is
missing (scripts/test.sh installs it: scripts/lib/setup.sh, ensure_majortomo).
"""

import logging
import os
import signal
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

try:
    import zmq  # noqa: F401
    from majortomo import Worker
    from majortomo import error as majortomo_error
except ImportError as missing:
    print("majortomo_worker.py needs majortomo 0.2.0 (python3 -m pip install majortomo==0.2.0): %s" % missing,
          file=sys.stderr)
    sys.exit(3)

import peer_cli  # noqa: E402


class Stopping(Exception):
    """Raised by a signal handler to leave the library's blocking wait for a request."""


class LibraryLog(logging.Handler):
    """Turns the library's heartbeat and reconnect log lines into events."""

    def __init__(self, on_event, service):
        super().__init__(logging.DEBUG)
        self.on_event = on_event
        self.service = service

    def emit(self, record):
        message = record.getMessage()
        if message.startswith("Got heartbeat message from broker"):
            self.on_event("heartbeat_in")
        elif message.startswith("Got no heartbeat in"):
            self.on_event("reconnect", reason="no heartbeat from the broker: %s" % message)
            self.on_event("ready", service=self.service)


class MajortomoWorker:
    def __init__(self, args, handler, on_event):
        self.handler = handler
        self.on_event = on_event
        self.service = args.service
        interval = args.heartbeat_ms / 1000.0
        self.worker = Worker(args.endpoint, args.service, heartbeat_interval=interval,
                             heartbeat_timeout=2 * interval * args.liveness)
        log = logging.getLogger("majortomo.worker")
        log.setLevel(logging.DEBUG)
        log.propagate = False
        log.addHandler(LibraryLog(on_event, args.service))

    def stop(self):
        raise Stopping()   # only ever called from a signal handler (peer_cli.worker_main)

    def run(self, duration=None):
        if duration is not None:
            signal.signal(signal.SIGALRM, lambda *_: self.stop())
            signal.setitimer(signal.ITIMER_REAL, duration)
        try:
            self.worker.connect()
            self.on_event("ready", service=self.service)
            while True:
                self.serve_one()
        except Stopping:
            pass
        finally:
            self.worker.close()   # sends DISCONNECT
            self.on_event("stopped")

    def serve_one(self):
        try:
            client, body = self.worker.wait_for_request()
        except majortomo_error.Disconnected:
            self.on_event("disconnect_in")
            self.on_event("reconnect", reason="DISCONNECT from the broker")
            self.worker.connect()
            self.on_event("ready", service=self.service)
            return
        except majortomo_error.ProtocolError as error:
            self.on_event("violation", text="majortomo: %s" % error)
            return
        self.on_event("request", body=body)

        def partial(frames):
            self.worker.send_reply_partial(client, frames)
            self.on_event("partial")

        final = self.handler(body, partial)
        self.worker.send_reply_final(client, final)
        self.on_event("final", body=final)


if __name__ == "__main__":
    sys.exit(peer_cli.worker_main("majortomo 0.2.0 test worker", MajortomoWorker, ["upper", "echo", "slow", "partials"],
                                  default_heartbeat_ms=250))
