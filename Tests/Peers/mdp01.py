"""A small Majordomo MDP/0.1 library, written from ZeroMQ RFC 7 (7/MDP) only.

MDP/0.1 is the Majordomo of the ZeroMQ guide (mdcliapi, mdcliapi2, mdwrkapi in every
language). This library does not know how the ZMesh broker is built; it knows what RFC 7
says and checks every frame it receives against it. Anything the broker sends that RFC 7
does not allow is a ``ProtocolViolation`` (the client raises it; the worker reports it
through its ``on_event`` callback as a ``violation`` event and keeps going).

    from mdp01 import Client, Worker

    client = Client("tcp://127.0.0.1:5560", socket_type="req")   # or "dealer"
    partials, final = client.request("echo", b"hello", timeout=5.0)   # partials: always []

    def upper(body):
        return [frame.upper() for frame in body]
    Worker("tcp://127.0.0.1:5565", "upper", handler=upper).run()

The rules checked:

Client side (what the broker sends to a client):
  C1  a REPLY has 4 or more frames: an empty frame (a REQ socket takes it off), "MDPC01",
      the service name, one or more body frames
  C2  the empty frame first (DEALER: checked; REQ: the socket checks it) and "MDPC01"
  C3  the service frame is the service name of the request, byte for byte
  C4  one REPLY per REQUEST and nothing else (DEALER: checked before each request and by
      ``Client.expect_quiet``; a REQ socket cannot receive anything unasked)

Worker side (what the broker sends to a worker):
  W1  frame 0 empty, frame 1 "MDPW01", frame 2 one command byte
  W2  only REQUEST (0x02), HEARTBEAT (0x04) and DISCONNECT (0x05) come from a broker
  W3  REQUEST has 6 or more frames: precisely one client address frame (not empty), an
      empty frame, then the body
  W4  HEARTBEAT and DISCONNECT have exactly 3 frames
  W5  the broker heartbeats: when no command comes for heartbeat x liveness the broker is
      taken as disconnected and the worker reconnects on a new socket (a ``reconnect``
      event, not a violation: the broker may really be gone)

What the worker does (its own MUSTs): one DEALER to one broker; READY once per connection;
one REPLY per REQUEST with the client address and an empty frame; HEARTBEAT every interval
in which it sent nothing else; on DISCONNECT it sends nothing more on that socket, closes it
and reconnects on a new one; on shutdown it sends DISCONNECT. Like the guide's mdwrkapi it
is single-threaded: it reads and heartbeats only between requests, so a long request is a
long silence (RFC 7: "Peers SHOULD NOT send HEARTBEAT commands while also sending other
commands").
"""

import signal
import time

import zmq

MDPC = b"MDPC01"
MDPW = b"MDPW01"

READY = b"\x01"
REQUEST = b"\x02"
REPLY = b"\x03"
HEARTBEAT = b"\x04"
DISCONNECT = b"\x05"

WORKER_COMMANDS = {READY: "READY", REQUEST: "REQUEST", REPLY: "REPLY", HEARTBEAT: "HEARTBEAT",
                   DISCONNECT: "DISCONNECT"}


class ProtocolViolation(Exception):
    """The broker sent something RFC 7 does not allow. ``frames`` holds the message as received."""

    def __init__(self, rule, message, frames=None):
        self.rule = rule
        self.frames = list(frames) if frames is not None else None
        text = "%s: %s" % (rule, message)
        if frames is not None:
            text += " (frames: %s)" % describe(frames)
        super().__init__(text)


class RequestTimeout(Exception):
    """No REPLY arrived within the timeout."""

    def __init__(self, service, timeout):
        self.partials = []
        super().__init__("no REPLY for %r within %.3f s" % (service, timeout))


def describe(frames):
    """Frames as a readable list: printable ASCII as text, anything else as hex."""
    parts = []
    for frame in frames:
        frame = bytes(frame)
        if frame and all(32 <= b < 127 for b in frame):
            text = frame.decode("ascii")
            parts.append(repr(text if len(text) <= 64 else text[:64] + "..."))
        else:
            parts.append("0x" + frame[:32].hex() + ("..." if len(frame) > 32 else "") if frame else "''")
    return "[" + ", ".join(parts) + "]"


def unblock_termination_signals():
    """Lets SIGTERM and SIGINT in (processes started from Swift concurrency threads inherit a
    mask that blocks them)."""
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGTERM, signal.SIGINT})


def _as_bytes(value):
    return value.encode("utf-8") if isinstance(value, str) else bytes(value)


class Client:
    """MDP/0.1 client over a REQ socket (RFC 7: clients SHOULD use REQ for a synchronous
    dialog) or a DEALER socket (MAY, and then MUST send the empty frame 0 itself).

    ``request`` returns ``([], body)``: MDP/0.1 has no partial replies; the tuple matches the
    MDP/0.2 peers'. After a timeout the socket is closed and a new one opened and connected
    (RFC 7's recommended recovery; a REQ socket cannot send again before it has a reply).
    """

    def __init__(self, endpoint, socket_type="req", context=None):
        if socket_type not in ("req", "dealer"):
            raise ValueError("socket_type is 'req' or 'dealer'")
        self.endpoint = endpoint
        self.socket_type = socket_type
        self.context = context or zmq.Context.instance()
        self.socket = None
        self._connect()

    def _connect(self):
        if self.socket is not None:
            self.socket.close(linger=0)
        self.socket = self.context.socket(zmq.REQ if self.socket_type == "req" else zmq.DEALER)
        self.socket.setsockopt(zmq.LINGER, 0)
        self.socket.connect(self.endpoint)

    def close(self):
        if self.socket is not None:
            self.socket.close(linger=0)
            self.socket = None

    def expect_quiet(self, seconds):
        """C4: nothing may arrive with no request outstanding (DEALER only: a REQ socket
        cannot receive before it sends). Waits up to ``seconds``."""
        if self.socket_type == "dealer" and self.socket.poll(int(seconds * 1000), zmq.POLLIN):
            raise ProtocolViolation("C4", "a command arrived with no request outstanding (after REPLY)",
                                    self.socket.recv_multipart())

    def request(self, service, *body, timeout=5.0, on_sent=None):
        service = _as_bytes(service)
        body = [_as_bytes(frame) for frame in body]
        if not body:
            raise ValueError("a REQUEST has 4 or more frames: give at least one body frame")
        self.expect_quiet(0)
        frames = [MDPC, service] + body
        self.socket.send_multipart(frames if self.socket_type == "req" else [b""] + frames)
        if on_sent is not None:
            on_sent()
        if not self.socket.poll(max(1, int(timeout * 1000)), zmq.POLLIN):
            self._connect()
            raise RequestTimeout(service, timeout)
        reply = self.socket.recv_multipart()
        return [], self._validate(service, reply)

    def _validate(self, service, frames):
        if self.socket_type == "dealer":
            if not frames or frames[0] != b"":
                raise ProtocolViolation("C2", "frame 0 must be empty", frames)
            frames = frames[1:]
        if len(frames) < 3:
            raise ProtocolViolation("C1", "a REPLY has 4 or more frames (with the empty one), this one %d"
                                    % (len(frames) + 1), frames)
        if frames[0] != MDPC:
            raise ProtocolViolation("C2", "the frame after the empty one must be 'MDPC01'", frames)
        if frames[1] != service:
            raise ProtocolViolation("C3", "the service frame must be %r" % service, frames)
        return frames[2:]


class Worker:
    """MDP/0.1 worker over one DEALER socket to one broker, single-threaded like the guide's.

    ``handler(body_frames)`` returns the REPLY body (a list of frames, or one bytes/str
    value). ``on_event(kind, **fields)`` hears about ``ready``, ``request``, ``final`` (the
    REPLY sent), ``heartbeat_in``, ``disconnect_in``, ``reconnect``, ``violation``, ``stopped``.
    """

    def __init__(self, endpoint, service, heartbeat_ms=500, liveness=3, handler=None, on_event=None, context=None):
        self.endpoint = endpoint
        self.service = _as_bytes(service)
        self.heartbeat = heartbeat_ms / 1000.0
        self.liveness = liveness
        self.handler = handler or (lambda body: body)
        self.on_event = on_event or (lambda kind, **fields: None)
        self.context = context or zmq.Context.instance()
        self.socket = None
        self._stop = False
        self._last_sent = 0.0
        self._last_heard = 0.0

    def stop(self):
        """Asks ``run`` to send DISCONNECT and return (safe from a signal handler)."""
        self._stop = True

    def run(self, duration=None):
        end = time.monotonic() + duration if duration is not None else None
        self._connect()
        try:
            while not self._stop and (end is None or time.monotonic() < end):
                self._step()
        finally:
            if self.socket is not None:
                self._send(DISCONNECT)
                self.socket.close(linger=200)
                self.socket = None
            self.on_event("stopped")

    def _connect(self, reason=None):
        if self.socket is not None:
            self.socket.close(linger=0)
            self.socket = None
            self.on_event("reconnect", reason=reason)
        self.socket = self.context.socket(zmq.DEALER)
        self.socket.setsockopt(zmq.LINGER, 0)
        self.socket.connect(self.endpoint)
        self._send(READY, self.service)
        self._last_heard = time.monotonic()
        self.on_event("ready", service=self.service.decode())

    def _send(self, command, *frames):
        self.socket.send_multipart([b"", MDPW, command] + list(frames))
        self._last_sent = time.monotonic()

    def _step(self):
        wait = max(0.0, self._last_sent + self.heartbeat - time.monotonic())
        heard = self.socket.poll(max(1, int(wait * 1000)), zmq.POLLIN)
        if heard:
            # Read one message; a REQUEST is handled here and now, nothing read meanwhile.
            if not self._received(self.socket.recv_multipart()):
                return
        now = time.monotonic()
        # Silence counts only while waiting (as the guide's liveness does): what the broker
        # sent while a request ran is read next.
        if not heard and now - self._last_heard >= self.heartbeat * self.liveness:
            self._connect(reason="W5: no command from the broker for %.0f ms (heartbeat %d ms x liveness %d)"
                          % ((now - self._last_heard) * 1000, self.heartbeat * 1000, self.liveness))
            return
        if now - self._last_sent >= self.heartbeat:
            self._send(HEARTBEAT)

    def _received(self, frames):
        """Handles one message; False when the connection was replaced."""
        self._last_heard = time.monotonic()
        if len(frames) < 3 or frames[0] != b"" or frames[1] != MDPW or len(frames[2]) != 1:
            self._violation("W1", "frames must be '', 'MDPW01', one command byte", frames)
            return True
        command = frames[2]
        if command in (HEARTBEAT, DISCONNECT):
            if len(frames) != 3:
                self._violation("W4", "HEARTBEAT/DISCONNECT have exactly 3 frames", frames)
            if command == HEARTBEAT:
                self.on_event("heartbeat_in")
                return True
            self.on_event("disconnect_in")
            self._connect(reason="DISCONNECT from the broker")
            return False
        if command != REQUEST:
            self._violation("W2", "a broker never sends %s to a worker"
                            % WORKER_COMMANDS.get(command, "command 0x" + command.hex()), frames)
            return True
        if len(frames) < 6 or len(frames[3]) == 0 or frames[4] != b"":
            self._violation("W3", "REQUEST: one client address frame, an empty frame, a body (6+ frames)", frames)
            return True
        address, body = frames[3], frames[5:]
        self.on_event("request", address=address, body=body)
        try:
            reply = self.handler(body)
        except Exception as error:  # a failing handler still answers, with one REPLY
            reply = [b"500", ("handler failed: %s" % error).encode()]
        if isinstance(reply, (bytes, bytearray, str)):
            reply = [reply]
        reply = [_as_bytes(frame) for frame in reply] or [b""]
        self._send(REPLY, address, b"", *reply)
        self.on_event("final", address=address, body=reply)
        return True

    def _violation(self, rule, message, frames):
        self.on_event("violation", rule=rule, text=ProtocolViolation(rule, message, frames).args[0])

