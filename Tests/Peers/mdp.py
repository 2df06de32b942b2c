"""A small Majordomo (MDP/0.2) library, written from ZeroMQ RFC 18 (18/MDP) and RFC 8 (8/MMI) only.

It does not know how the ZMesh broker is built; it knows what the specification says, and it
checks every frame it receives against it. Anything the broker sends that the specification
does not allow is a ``ProtocolViolation`` (the client raises it; the worker reports it through
its ``on_event`` callback as a ``violation`` event and keeps going, so a test can read them all).

    from mdp import Client, Worker

    client = Client("tcp://127.0.0.1:5560")
    partials, final = client.request("echo", b"hello", timeout=5.0)

    def upper(body, reply):          # reply.partial(*frames) sends a PARTIAL
        return [frame.upper() for frame in body]
    Worker("tcp://127.0.0.1:5565", "upper", handler=upper).run()

The rules checked (RFC 18 unless stated otherwise):

Client side (what the broker sends to a client):
  C1  every message has 4 or more frames (PARTIAL and FINAL: header, command, service, body)
  C2  frame 0 is exactly "MDPC02"
  C3  frame 1 is exactly one byte, 0x02 (PARTIAL) or 0x03 (FINAL); REQUEST (0x01) and anything
      else never come from a broker
  C4  frame 2 is the service name of the request being answered, byte for byte
  C5  zero or more PARTIALs, then exactly one FINAL
  C6  after a FINAL, no further commands (checked before every next request and by
      ``Client.expect_quiet``); a command with no request outstanding is a violation

Worker side (what the broker sends to a worker):
  W1  frame 0 is exactly "MDPW02"; frame 1 is exactly one byte
  W2  only REQUEST (0x02), HEARTBEAT (0x05) and DISCONNECT (0x06) come from a broker
      (READY 0x01, PARTIAL 0x03 and FINAL 0x04 are worker commands; others are unknown)
  W3  REQUEST has 5 or more frames: precisely one client address frame (not empty: a
      ZeroMQ address is 1 to 255 bytes), then an empty delimiter frame, then the body
  W4  HEARTBEAT and DISCONNECT have exactly 2 frames
  W5  no REQUEST while the worker still holds one (workers handle one request at a time;
      the dialog is REQUEST, *PARTIAL, FINAL)
  W6  the broker sends heartbeats at the agreed interval: silence for heartbeat*liveness
      means the broker is disconnected; the worker then reconnects on a new socket and
      reports a ``reconnect`` event (not a violation: the broker may really be gone, so a
      test that knows the broker was up all along checks for reconnects itself)

What the worker does (its own MUSTs): it connects one DEALER to one broker and sends READY
once per connection; it sends zero or more PARTIALs and exactly one FINAL per REQUEST, with
the client address frame copied back and an empty delimiter; it sends HEARTBEAT every
heartbeat interval in which it sent nothing else (also while a handler runs: both peers MUST
send heartbeats at regular intervals); on DISCONNECT it sends nothing more on that socket,
closes it and reconnects on a new socket with a new READY; on shutdown it sends DISCONNECT.
"""

import os
import queue
import signal
import threading
import time

import zmq

MDPC = b"MDPC02"
MDPW = b"MDPW02"

# MDP/Client commands
C_REQUEST = b"\x01"
C_PARTIAL = b"\x02"
C_FINAL = b"\x03"

# MDP/Worker commands
W_READY = b"\x01"
W_REQUEST = b"\x02"
W_PARTIAL = b"\x03"
W_FINAL = b"\x04"
W_HEARTBEAT = b"\x05"
W_DISCONNECT = b"\x06"

CLIENT_COMMANDS = {C_REQUEST: "REQUEST", C_PARTIAL: "PARTIAL", C_FINAL: "FINAL"}
WORKER_COMMANDS = {W_READY: "READY", W_REQUEST: "REQUEST", W_PARTIAL: "PARTIAL", W_FINAL: "FINAL",
                   W_HEARTBEAT: "HEARTBEAT", W_DISCONNECT: "DISCONNECT"}


class ProtocolViolation(Exception):
    """The broker sent something RFC 18 does not allow. ``frames`` holds the message as received."""

    def __init__(self, rule, message, frames=None):
        self.rule = rule
        self.frames = list(frames) if frames is not None else None
        text = "%s: %s" % (rule, message)
        if frames is not None:
            text += " (frames: %s)" % describe(frames)
        super().__init__(text)


class RequestTimeout(Exception):
    """No FINAL arrived within the timeout."""

    def __init__(self, service, timeout, partials):
        self.partials = partials
        super().__init__("no FINAL for %r within %.3f s (%d PARTIAL(s) before)" % (service, timeout, len(partials)))


def describe(frames):
    """Frames as a readable list: printable ASCII as text, anything else as hex."""
    parts = []
    for frame in frames:
        frame = bytes(frame)
        if frame and all(32 <= b < 127 for b in frame):
            text = frame.decode("ascii")
            parts.append(repr(text if len(text) <= 64 else text[:64] + "..."))
        else:
            shown = frame[:32].hex()
            parts.append("0x" + shown + ("..." if len(frame) > 32 else "") if frame else "''")
    return "[" + ", ".join(parts) + "]"


def unblock_termination_signals():
    """Lets SIGTERM and SIGINT in. A process inherits its parent thread's signal mask, and
    processes started from Swift concurrency threads (tests) get SIGTERM blocked; without
    this a worker could not hear the SIGTERM that asks it to send DISCONNECT and stop."""
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGTERM, signal.SIGINT})


def is_printable(name):
    """A service name is a 'printable string' (RFC 18): non-empty printable ASCII here."""
    return len(name) > 0 and all(32 <= b < 127 for b in name)


def _as_bytes(value):
    if isinstance(value, str):
        return value.encode("utf-8")
    return bytes(value)


class Client:
    """MDP/Client over one DEALER socket (RFC 18: clients MUST use a DEALER socket).

    The dialog is strictly synchronous: one request at a time. ``request`` returns
    ``(partials, final)``: a list of the PARTIAL bodies (each a list of frames) and the FINAL
    body (a list of frames). It raises ``ProtocolViolation`` for anything the specification
    does not allow and ``RequestTimeout`` when no FINAL comes in time; after a timeout the
    socket is closed and a new one opened (the RFC's recommended recovery), so a late reply
    to the old request can never be taken for the answer to the next one.

    ``raw=True`` is for benchmarking against a plain ROUTER echo: the REQUEST it sent coming
    back unchanged is then accepted as the FINAL (its body is the FINAL body).
    """

    def __init__(self, endpoint, context=None, raw=False):
        self.endpoint = endpoint
        self.context = context or zmq.Context.instance()
        self.raw = raw
        self.socket = None
        self._connect()

    def _connect(self):
        if self.socket is not None:
            self.socket.close(linger=0)
        self.socket = self.context.socket(zmq.DEALER)
        self.socket.setsockopt(zmq.LINGER, 0)
        self.socket.connect(self.endpoint)

    def close(self):
        if self.socket is not None:
            self.socket.close(linger=0)
            self.socket = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def expect_quiet(self, seconds):
        """C6: nothing may arrive when no request is outstanding. Waits up to ``seconds``."""
        if self.socket.poll(int(seconds * 1000), zmq.POLLIN):
            frames = self.socket.recv_multipart()
            raise ProtocolViolation("C6", "a command arrived with no request outstanding (after FINAL)", frames)

    def request(self, service, *body, timeout=5.0, on_sent=None):
        service = _as_bytes(service)
        body = [_as_bytes(frame) for frame in body]
        if not body:
            raise ValueError("a REQUEST has 4 or more frames: give at least one body frame")
        # C6: a leftover from the previous request (after its FINAL) is a violation.
        self.expect_quiet(0)
        request = [MDPC, C_REQUEST, service] + body
        self.socket.send_multipart(request)
        if on_sent is not None:
            on_sent()
        partials = []
        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0 or not self.socket.poll(max(1, int(remaining * 1000)), zmq.POLLIN):
                self._connect()
                raise RequestTimeout(service, timeout, partials)
            frames = self.socket.recv_multipart()
            if self.raw and frames == request:
                return partials, frames[3:]
            command = self._validate(service, frames)
            if command == C_PARTIAL:
                partials.append(frames[3:])
            else:
                return partials, frames[3:]

    @staticmethod
    def _validate(service, frames):
        if len(frames) < 4:
            raise ProtocolViolation("C1", "a reply has 4 or more frames, this one has %d" % len(frames), frames)
        if frames[0] != MDPC:
            raise ProtocolViolation("C2", "frame 0 must be 'MDPC02'", frames)
        if len(frames[1]) != 1 or frames[1] not in (C_PARTIAL, C_FINAL):
            name = CLIENT_COMMANDS.get(frames[1], "unknown command")
            raise ProtocolViolation("C3", "frame 1 must be 0x02 PARTIAL or 0x03 FINAL, not %s" % name, frames)
        if frames[2] != service:
            raise ProtocolViolation("C4", "frame 2 must echo the service name %r" % service, frames)
        return frames[1]


class Reply:
    """Given to a worker's handler: ``partial(*frames)`` sends a PARTIAL before the FINAL."""

    def __init__(self, send):
        self._send = send

    def partial(self, *frames):
        frames = [_as_bytes(frame) for frame in frames]
        if not frames:
            raise ValueError("a PARTIAL has at least one body frame")
        self._send(("partial", frames))


class Worker:
    """MDP/Worker over one DEALER socket to one broker.

    ``handler(body_frames, reply)`` returns the FINAL body (a list of frames, or one bytes/str
    value); it may call ``reply.partial(...)`` first. It runs on its own thread, so heartbeats
    go on while it works. ``on_event(kind, **fields)`` hears about everything: ``ready``,
    ``request``, ``partial``, ``final``, ``heartbeat_in``, ``disconnect_in``, ``reconnect``,
    ``violation``, ``stopped``.
    """

    def __init__(self, endpoint, service, heartbeat_ms=500, liveness=3, handler=None,
                 on_event=None, context=None, reconnect_ms=250):
        self.endpoint = endpoint
        self.service = _as_bytes(service)
        if not is_printable(self.service):
            raise ValueError("a service name is a printable string")
        self.heartbeat = heartbeat_ms / 1000.0
        self.liveness = liveness
        self.reconnect_delay = reconnect_ms / 1000.0
        self.handler = handler or (lambda body, reply: body)
        self.on_event = on_event or (lambda kind, **fields: None)
        self.context = context or zmq.Context.instance()
        self.socket = None
        self.violations = []
        self._stop = threading.Event()
        self._wake_r, self._wake_w = os.pipe()
        os.set_blocking(self._wake_r, False)
        self._results = queue.Queue()
        self._generation = 0        # one per connection; results from an older one are dropped
        self._busy = None           # (generation, client address) of the request being handled
        self._last_sent = 0.0
        self._last_heard = 0.0

    # -- public ---------------------------------------------------------------------------

    def stop(self):
        """Asks ``run`` to send DISCONNECT and return (safe from any thread or a signal handler)."""
        self._stop.set()
        try:
            os.write(self._wake_w, b"s")
        except OSError:
            pass

    def run(self, duration=None):
        """Serves until ``stop()`` (or for ``duration`` seconds), then sends DISCONNECT."""
        end = time.monotonic() + duration if duration is not None else None
        self._connect()
        try:
            while not self._stop.is_set():
                if end is not None and time.monotonic() >= end:
                    break
                self._step()
        finally:
            if self.socket is not None:
                try:
                    self._send([MDPW, W_DISCONNECT])
                finally:
                    self.socket.close(linger=200)
                    self.socket = None
            os.close(self._wake_r)
            os.close(self._wake_w)
            self.on_event("stopped")

    # -- connection -----------------------------------------------------------------------

    def _connect(self, reason=None):
        if self.socket is not None:
            self.socket.close(linger=0)
            self.socket = None
            self.on_event("reconnect", reason=reason)
        self._generation += 1
        self._busy = None
        self.socket = self.context.socket(zmq.DEALER)
        self.socket.setsockopt(zmq.LINGER, 0)
        self.socket.connect(self.endpoint)
        self._send([MDPW, W_READY, self.service])
        self._last_heard = time.monotonic()
        self.on_event("ready", service=self.service.decode())

    def _send(self, frames):
        self.socket.send_multipart(frames)
        self._last_sent = time.monotonic()

    # -- loop -----------------------------------------------------------------------------

    def _step(self):
        now = time.monotonic()
        next_heartbeat = self._last_sent + self.heartbeat
        expiry = self._last_heard + self.heartbeat * self.liveness
        wait = max(0.0, min(next_heartbeat, expiry) - now)
        poller = zmq.Poller()
        poller.register(self.socket, zmq.POLLIN)
        poller.register(self._wake_r, zmq.POLLIN)
        events = dict(poller.poll(max(1, int(wait * 1000))))
        if self._wake_r in events:
            try:
                os.read(self._wake_r, 4096)
            except BlockingIOError:
                pass
        self._flush_results()
        if self.socket in events:
            # Drain what is there; a DISCONNECT ends this connection (nothing more is read from it).
            while self.socket is not None and self.socket.poll(0, zmq.POLLIN):
                frames = self.socket.recv_multipart()
                if not self._received(frames):
                    break
        now = time.monotonic()
        if now >= self._last_heard + self.heartbeat * self.liveness:
            self._connect(reason="W6: no command from the broker for %.0f ms (heartbeat %d ms x liveness %d)"
                          % ((now - self._last_heard) * 1000, self.heartbeat * 1000, self.liveness))
            return
        if now >= self._last_sent + self.heartbeat:
            self._send([MDPW, W_HEARTBEAT])

    def _received(self, frames):
        """Handles one message; returns False when the connection was replaced."""
        self._last_heard = time.monotonic()
        if len(frames) < 2 or frames[0] != MDPW or len(frames[1]) != 1:
            self._violation("W1", "frame 0 must be 'MDPW02' and frame 1 one command byte", frames)
            return True
        command = frames[1]
        if command == W_HEARTBEAT:
            if len(frames) != 2:
                self._violation("W4", "HEARTBEAT has exactly 2 frames", frames)
            self.on_event("heartbeat_in")
            return True
        if command == W_DISCONNECT:
            if len(frames) != 2:
                self._violation("W4", "DISCONNECT has exactly 2 frames", frames)
            self.on_event("disconnect_in")
            # RFC 18: send nothing more, close the socket, reconnect on a new socket.
            time.sleep(self.reconnect_delay)
            self._connect(reason="DISCONNECT from broker")
            return False
        if command == W_REQUEST:
            if len(frames) < 5:
                self._violation("W3", "REQUEST has 5 or more frames, this one has %d" % len(frames), frames)
                return True
            address, delimiter, body = frames[2], frames[3], frames[4:]
            if len(address) == 0:
                self._violation("W3", "the client address frame is empty", frames)
                return True
            if delimiter != b"":
                self._violation("W3", "the client address must be followed by an empty frame "
                                      "(precisely one client address frame)", frames)
                return True
            if self._busy is not None:
                self._violation("W5", "REQUEST while the worker still handles one", frames)
                return True
            self._busy = (self._generation, address)
            self.on_event("request", address=address, body=body)
            generation = self._generation
            thread = threading.Thread(target=self._handle, args=(generation, address, body), daemon=True)
            thread.start()
            return True
        name = WORKER_COMMANDS.get(command, "unknown command 0x%s" % command.hex())
        self._violation("W2", "a broker never sends %s to a worker" % name, frames)
        return True

    def _violation(self, rule, message, frames):
        text = ProtocolViolation(rule, message, frames).args[0]
        self.violations.append(text)
        self.on_event("violation", rule=rule, text=text)

    # -- handler thread -------------------------------------------------------------------

    def _handle(self, generation, address, body):
        def send(item):
            self._results.put((generation, address, item))
            os.write(self._wake_w, b"r")

        try:
            final = self.handler(body, Reply(send))
        except Exception as error:  # a failing handler still answers with exactly one FINAL
            final = [b"500", ("handler failed: %s" % error).encode()]
        if isinstance(final, (bytes, bytearray, str)):
            final = [final]
        final = [_as_bytes(frame) for frame in final] or [b""]
        send(("final", final))

    def _flush_results(self):
        while True:
            try:
                generation, address, (kind, frames) = self._results.get_nowait()
            except queue.Empty:
                return
            if generation != self._generation or self.socket is None:
                continue  # that connection is gone; its broker was told nothing more
            command = W_PARTIAL if kind == "partial" else W_FINAL
            self._send([MDPW, command, address, b""] + frames)
            self.on_event(kind, address=address, body=frames)
            if kind == "final":
                self._busy = None
