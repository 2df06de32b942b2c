#!/usr/bin/env python3
"""A hostile ZMesh peer: sends random and mutated frames to mesh nodes for a bounded time.

    python3 Tests/Peers/hostile.py --seconds S --seed N ENDPOINT [ENDPOINT ...]

Written from docs/PROTOCOL.md (and ZeroMQ RFC 18 for the Majordomo frames) only: the header is
packed here with `struct`, big-endian, so it also checks that the document describes what the
nodes accept. Point it at the ROUTER endpoints of registries, brokers (front end and Majordomo
workers endpoint) and service nodes. Afterwards every node must still be alive and serving
(Tests/ZMeshTests/Integration/HostileInputTests.swift checks that).

For each endpoint it opens several DEALER sockets (--sockets, default 4), so it appears as
several peers, some with explicit random routing ids of 1 to 255 bytes. Every 2,000 messages
to an endpoint it closes one of them and opens a new one (a new peer; this exercises per-peer
state such as the once-per-peer-per-10-s drop log). Sockets have linger 0 and a bounded
send/receive high-water mark (--hwm). Every send is non-blocking: a message that would block
is dropped and counted (`dropped_eagain`). Everything the nodes send back is received without
blocking and discarded (counted in `replies`), so their answers never pile up.

Message categories (the `kind` in the summary; chosen by weight, per message):

  random_frames      1 to 8 frames of random bytes and lengths, empty frames included (a
                     ZeroMQ message cannot have 0 frames; the single empty frame is
                     empty_flood's)
  mutated_header     a valid header of a random command, then mutated: bit flips, truncation
                     (the cut walks through every length 0..len-1 in turn), extra bytes,
                     boundary bytes, a name length that lies, the trace flag without a trace;
                     sometimes without the empty delimiter
  oversized_header   header frames longer than 29+N(+16): up to 1 MiB, name lengths that lie
                     in both directions, a valid prefix followed by junk
  unknown_command    command 0 and 8..255 in an otherwise valid header
  bad_version        versions 0 and 2..255; wrong signatures
  bad_name           names with invalid UTF-8 (lone continuation bytes, overlong forms,
                     surrogates, > U+10FFFF, cut sequences), control characters (NUL, ESC,
                     newline, DEL), an empty REQUEST name, 255-byte names cut mid-character
  stray_reply        REPLY and ERROR with random request ids, statuses and flags
  stray_cancel       CANCEL for request ids nobody sent
  phantom_heartbeat  HEARTBEAT/DISCONNECT with a valid-looking announcement for instances that
                     do not exist: made-up service names (`hostile0`..`hostile199`, never a real
                     service), unreachable endpoints (127.x.y.z with x >= 100, 192.0.2.x),
                     extreme load/capacity/interval values (0, 2^31-1, 2^53, 2^63-1); bursts
                     of up to 200 new instances at once; some phantoms re-announce to stay live
  garbage_json       HEARTBEAT/DISCONNECT bodies that are not announcements: broken JSON, wrong
                     types, missing fields, JSON nested 100 to 16,000 deep, huge numbers, lone
                     surrogate escapes, UTF-16, invalid UTF-8, zero or several body frames
  huge_json          well-formed announcements larger than 16 KiB (16 KiB to 300 KiB)
  bad_endpoint       announcements whose endpoint, services, instance or numbers break the
                     rules: wildcard or missing ports, port 0 or > 65535, other transports,
                     5,000-byte hosts, empty or 65 services, names with dots or control bytes
  empty_flood        bursts of 100 to 1,000 messages of a single empty frame
  many_frames        messages of 100 to 300 frames: all empty, a header with 100+ body frames,
                     100+ routing-looking frames before the delimiter
  large_body         1 to 4 MiB of body frames behind a malformed header, a stray REPLY, a
                     HEARTBEAT or a REQUEST for a name nobody serves (at most 128 MiB per
                     endpoint in total)
  majordomo          Majordomo (ZeroMQ RFC 18, MDP/0.2) frames, for brokers that also speak it:
                     client requests for unserved names and MMI queries, worker READY for
                     made-up services only (never a real one), PARTIAL/FINAL for unknown
                     clients and with wrong address lengths, HEARTBEAT/DISCONNECT from workers
                     that never said READY, unknown or reversed commands, command frames of
                     the wrong length, other versions (MDPC01, MDPW01), truncated messages
  distinct_names     bursts of well-formed requests, each for a name never used before and
                     served by nobody (`hostile-distinct-I-N`, and under `echo.` and `kv.`,
                     whose service-level handlers answer them): native calls, `mesh.lookup`
                     of such names, and Majordomo requests for such services. No node may keep
                     state per called name (Tests/Peers/distinct_names.py sends 300,000)
  odd_request        well-formed REQUESTs with odd fields: budgets 0/1/none/random, any
                     attempt, reserved flag bits, trace ids, 0 to 10 extra routing hops before
                     the delimiter, 0 to 17 body frames, names nobody serves, look-ups
                     (`mesh.lookup`, `mesh.status`, `mesh.ping`, `mesh.broker`) with junk
                     bodies, request ids reused with another name. It never calls a name that
                     changes state (no `kv.put`, `kv.delete`, `echo.count`).

The sequence of messages sent to each endpoint is a function of --seed and the endpoint's
position alone (each endpoint has its own generator; churn is counted in messages, not
time), so a run can be repeated; only how many get sent in the time, and which ones are
dropped on EAGAIN, depends on speed. To narrow a failure down, repeat the seed with
--max-messages N (the first N of the same sequence), --kinds a,b (only those categories;
this changes the sequence) and --log FILE (one line per message: endpoint, index, kind,
frame sizes and the first bytes in hex). In the Swift test, ZMESH_HOSTILE_SEED and
ZMESH_HOSTILE_ARGS do the same.

It stops after --seconds or when every endpoint has had --max-messages (default 200,000)
messages, whichever comes first, then prints one line of JSON on stdout: messages sent and
dropped per kind, replies received per command, bytes sent, reconnects, rates. Exit status
0 on a completed run, 2 on bad arguments, 3 when pyzmq is missing.
"""

import argparse
import json
import random
import struct
import sys
import time

try:
    import zmq
except ImportError:  # pragma: no cover - depends on the machine
    sys.stderr.write("hostile.py: pyzmq is not installed (python3 -m pip install pyzmq; scripts/test.sh does)\n")
    sys.exit(3)

# --- Protocol constants (docs/PROTOCOL.md) -----------------------------------------------

SIGNATURE = b"ZM"
VERSION = 1
REQUEST, REPLY, ERROR, CANCEL, HEARTBEAT, DISCONNECT = 1, 2, 3, 4, 5, 6
COMMANDS = (REQUEST, REPLY, ERROR, CANCEL, HEARTBEAT, DISCONNECT)
COMMAND_NAMES = {REQUEST: "REQUEST", REPLY: "REPLY", ERROR: "ERROR", CANCEL: "CANCEL",
                 HEARTBEAT: "HEARTBEAT", DISCONNECT: "DISCONNECT"}
FLAG_IDEMPOTENT, FLAG_TRACE, FLAG_MAY_HAVE_RUN = 1, 2, 4
NO_BUDGET = 0xFFFFFFFF
FIXED = struct.Struct(">BBBBHQQIB")  # version .. name length: 27 bytes after the signature
MAX_ANNOUNCEMENT = 16 * 1024


def header(command, *, version=VERSION, flags=0, attempt=0, status=0, client=0, sequence=0,
           budget=NO_BUDGET, name=b"", trace=None, name_length=None, signature=SIGNATURE):
    """Packs a header frame. `name_length` and `signature` may lie on purpose."""
    if trace is not None:
        flags |= FLAG_TRACE
    length = len(name) if name_length is None else name_length
    return (signature + FIXED.pack(version & 0xFF, command & 0xFF, flags & 0xFF, attempt & 0xFF,
                                   status & 0xFFFF, client & (2**64 - 1), sequence & (2**64 - 1),
                                   budget & 0xFFFFFFFF, length & 0xFF)
            + name + (trace if trace is not None else b""))


# --- Distinct unknown names (issue 10), shared with distinct_names.py ----------------------

DISTINCT_CLIENT = 0x5A4D455348  # the client id of every distinct-name request
DISTINCT_FORMS = ("native", "lookup", "mdp")


def distinct_name_request(form, name, counter):
    """The frames (for a DEALER) of one request for `name`, a name nobody serves.

    native: a REQUEST for `name`; lookup: `mesh.lookup` of `name`; mdp: an MDP/0.2 client
    REQUEST for the service `name`."""
    if form == "mdp":
        return [MDP_CLIENT, b"\x01", name, b"distinct"]
    called, body = (b"mesh.lookup", name) if form == "lookup" else (name, b"distinct")
    return [b"", header(REQUEST, flags=FLAG_IDEMPOTENT, client=DISTINCT_CLIENT, sequence=counter,
                        budget=5000, name=called), body]


def describe_answer(form, frames):
    """`REPLY`, `ERROR <status>`, `FINAL <first body frame>`, or `other`, for a summary."""
    if form == "mdp":
        if len(frames) >= 3 and frames[0] == MDP_CLIENT and frames[1] in (b"\x02", b"\x03"):
            kind = "FINAL" if frames[1] == b"\x03" else "PARTIAL"
            first = bytes(frames[3]) if len(frames) > 3 else b""
            return kind + (" " + first.decode() if len(first) == 3 and first.isdigit() else "")
        return "other"
    if len(frames) >= 2 and len(frames[1]) >= 8 and frames[1][:2] == SIGNATURE:
        command, status = frames[1][3], struct.unpack(">H", frames[1][6:8])[0]
        if command == REPLY:
            return "REPLY"
        if command == ERROR:
            return "ERROR %d" % status
    return "other"


# --- Vocabulary ----------------------------------------------------------------------------

KINDS = {  # kind: weight per pick
    "random_frames": 14, "mutated_header": 18, "oversized_header": 5, "unknown_command": 6,
    "bad_version": 4, "bad_name": 8, "stray_reply": 8, "stray_cancel": 5,
    "phantom_heartbeat": 6, "garbage_json": 6, "huge_json": 2, "bad_endpoint": 4,
    "empty_flood": 0.06, "many_frames": 2, "large_body": 0.06, "odd_request": 6, "majordomo": 5,
    "distinct_names": 1.2,  # bursts of 1 to 50: about a fifth of the messages
}
# Names odd requests call: none of them changes state anywhere.
SAFE_NAMES = [b"echo", b"echo.async", b"echo.whoami", b"kv.get", b"kv", b"mesh.lookup",
              b"mesh.status", b"mesh.ping", b"mesh.broker", b"mesh.nothing", b"nothing",
              b"weather.today", b"sleep.not", "ünïcödé.näme".encode(), b"a" * 255, b"x"]
PHANTOM_SERVICES = ["hostile%d" % index for index in range(200)]
INVALID_UTF8 = [b"\xff", b"\xfe\xff", b"\x80", b"\xbf\xbf", b"\xc0\x80", b"\xc1\xbf",
                b"\xe0\x80\x80", b"\xed\xa0\x80", b"\xed\xbf\xbf", b"\xf4\x90\x80\x80",
                b"\xf8\x88\x80\x80\x80", b"\xe2\x82", b"\xf0\x9f\x98", b"\xc3"]
CONTROL = [b"\x00", b"\x01", b"\x07", b"\x0a", b"\x0d", b"\x09", b"\x1b[31m", b"\x1f", b"\x7f"]
BAD_ENDPOINTS = ["", "tcp://*:5601", "tcp://127.0.0.1:*", "tcp://127.0.0.1:0", "tcp://127.0.0.1:65536",
                 "tcp://127.0.0.1:-1", "tcp://127.0.0.1", "tcp://:5601", "tcp://127.0.0.1:", "tcp://",
                 "udp://127.0.0.1:5601", "http://127.0.0.1:5601", "tcp://[::1:5601", "5601",
                 "tcp://127.0.0.1:5601\n", "tcp://127.0.0.1:56o1", "tcp://exa mple:1",
                 "tcp://127.0.0.1:5601;rm -rf /", "tcp://127.0.0.1:99999999999999999999",
                 "tcp://" + "a" * 5000 + ":1", "tcp://\u0000:1", "tcp://127.0.0.1:5601:5602",
                 "tcp://*:*", "tcp://0.0.0.0:0"]
MDP_CLIENT, MDP_WORKER = b"MDPC02", b"MDPW02"
# Majordomo service names: unserved, management, not printable ASCII, too long, empty.
MDP_NAMES = [b"nothing", b"mmi.service", b"mmi.echo", b"mmi.nothing", b"weather", b"a" * 255,
             b"", b"has space", b"tab\t", b"\x00", b"\xff\xfe", b"a" * 256]
BAD_NUMBERS = [-1, -(2**63), 2**64, 1.5, "3", None, True, 1e308, [], {}]
EXTREME_NUMBERS = [0, 1, 2**31 - 1, 2**32, 2**53, 2**63 - 1]


class Endpoint:
    """One endpoint: its sockets, its own generator, its counters."""

    def __init__(self, context, address, index, seed, options, log):
        self.context = context
        self.address = address
        self.index = index
        self.options = options
        self.log = log
        self.random = random.Random("%s:%d" % (seed, index))
        self.sockets = []
        self.next_socket = 0
        self.attempts = 0  # messages generated (sent or dropped)
        self.sent = 0
        self.dropped = 0
        self.replies = 0
        self.bytes = 0
        self.large_bytes = 0
        self.reconnects = 0
        self.truncate_at = 0
        self.phantoms = []  # announcements of phantom instances that may re-announce
        self.recent_ids = []
        self.distinct = 0  # names made up so far by distinct_names
        kinds = [kind for kind in KINDS if options.kinds is None or kind in options.kinds]
        self.kinds = kinds
        self.weights = [KINDS[kind] for kind in kinds]
        for _ in range(options.sockets):
            self.sockets.append(self.open_socket())
        # Random bodies are slices of one buffer (generated once): fast, and still deterministic.
        self.noise = self.random.randbytes(4 * 1024 * 1024 + 4096)

    # -- sockets --

    def open_socket(self):
        socket = self.context.socket(zmq.DEALER)
        socket.setsockopt(zmq.LINGER, 0)
        socket.setsockopt(zmq.SNDHWM, self.options.hwm)
        socket.setsockopt(zmq.RCVHWM, self.options.hwm)
        if self.random.random() < 0.3:
            identity = bytes([self.random.randrange(1, 256)]) + self.random.randbytes(self.random.randrange(0, 255))
            socket.setsockopt(zmq.ROUTING_ID, identity)
        socket.connect(self.address)
        return socket

    def churn(self):
        position = self.random.randrange(len(self.sockets))
        self.sockets[position].close(linger=0)
        self.sockets[position] = self.open_socket()
        self.reconnects += 1

    # -- sending --

    def send(self, kind, frames, summary):
        self.attempts += 1
        if self.options.churn and self.attempts % self.options.churn == 0:
            self.churn()
        socket = self.sockets[self.next_socket]
        self.next_socket = (self.next_socket + 1) % len(self.sockets)
        if self.log is not None:
            self.log.write("%d %d %s %d [%s] %s\n" % (
                self.index, self.attempts, kind, len(frames), ",".join(str(len(frame)) for frame in frames),
                " ".join(bytes(frame[:48]).hex() for frame in frames[:6])))
        try:
            socket.send_multipart(frames, flags=zmq.NOBLOCK)
        except zmq.Again:
            self.dropped += 1
            summary.dropped[kind] = summary.dropped.get(kind, 0) + 1
            return
        size = sum(len(frame) for frame in frames)
        self.sent += 1
        self.bytes += size
        summary.sent[kind] = summary.sent.get(kind, 0) + 1
        summary.bytes += size

    def exhausted(self):
        return self.attempts >= self.options.max_messages

    def step(self, summary):
        """Generates and sends one pick (one message, or a burst for the flood kinds)."""
        kind = self.random.choices(self.kinds, self.weights)[0]
        for frames in getattr(self, "make_" + kind)():
            if self.exhausted():
                return
            self.send(kind, frames, summary)

    # -- building blocks --

    def noise_bytes(self, length):
        start = self.random.randrange(0, len(self.noise) - length + 1)
        return self.noise[start:start + length]

    def random_length(self):
        roll = self.random.random()
        if roll < 0.25:
            return 0
        if roll < 0.55:
            return self.random.randint(1, 8)
        if roll < 0.80:
            return self.random.randint(9, 64)
        if roll < 0.97:
            return self.random.randint(65, 2048)
        return self.random.randint(2049, 65536)

    def request_id(self):
        if self.recent_ids and self.random.random() < 0.1:
            return self.random.choice(self.recent_ids)
        pair = (self.random.getrandbits(64), self.random.getrandbits(64))
        if self.random.random() < 0.05:
            pair = self.random.choice([(0, 0), (2**64 - 1, 2**64 - 1), (0, 2**64 - 1)])
        self.recent_ids.append(pair)
        if len(self.recent_ids) > 64:
            self.recent_ids.pop(0)
        return pair

    def budget(self):
        return self.random.choice([NO_BUDGET, NO_BUDGET, 0, 1, 2, 50, 1000, 30000, self.random.getrandbits(32)])

    def valid_header(self, command=None, name=None, **overrides):
        command = command if command is not None else self.random.choice(COMMANDS)
        if name is None:
            name = self.random.choice(SAFE_NAMES) if command == REQUEST else self.random.choice([b"", b"", b"echo"])
        client, sequence = self.request_id()
        fields = dict(flags=self.random.choice([0, 0, FLAG_IDEMPOTENT, FLAG_MAY_HAVE_RUN, 0xF8 | FLAG_IDEMPOTENT]),
                      attempt=self.random.choice([0, 0, 1, 2, 255]),
                      status=self.random.randrange(0, 12) if command == ERROR else 0,
                      client=client, sequence=sequence, budget=self.budget(), name=name,
                      trace=self.random.randbytes(16) if self.random.random() < 0.2 else None)
        if command in (HEARTBEAT, DISCONNECT):
            fields.update(client=0, sequence=0)
        fields.update(overrides)
        return header(command, **fields)

    def body(self, most=3, longest=256):
        return [self.noise_bytes(self.random.randint(0, longest)) for _ in range(self.random.randint(0, most))]

    def hops(self, most):
        return [bytes([self.random.randrange(1, 256)]) + self.noise_bytes(self.random.randint(0, 8))
                for _ in range(self.random.randint(0, most))]

    def fake_endpoint(self):
        if self.random.random() < 0.8:
            endpoint = "tcp://127.%d.%d.%d:%d" % (self.random.randint(100, 254), self.random.randint(0, 255),
                                                  self.random.randint(1, 254), self.random.randint(1, 65535))
        else:
            endpoint = "tcp://192.0.2.%d:%d" % (self.random.randint(1, 254), self.random.randint(1, 65535))
        return endpoint if endpoint not in self.options.endpoints else "tcp://192.0.2.1:9"

    def announcement(self, **overrides):
        services = self.random.sample(PHANTOM_SERVICES, self.random.choice([1, 1, 2, 5, 64]))
        value = {"instance": "hostile-%d-%016x" % (self.index, self.random.getrandbits(64)),
                 "node": "hostile-%d" % self.random.randrange(1000),
                 "endpoint": self.fake_endpoint(), "services": services,
                 "load": self.random.choice(EXTREME_NUMBERS + [3]),
                 "capacity": self.random.choice(EXTREME_NUMBERS + [256]),
                 "interval_ms": self.random.choice([1, 500, 2**31 - 1, 2**63 - 1])}
        value.update(overrides)
        return value

    def announcement_message(self, value, command=None):
        command = command or (HEARTBEAT if self.random.random() < 0.8 else DISCONNECT)
        text = value if isinstance(value, (bytes, bytearray, memoryview)) else json.dumps(value).encode()
        return [b"", self.valid_header(command, name=b""), text]

    # -- categories: each returns a list of messages (lists of frames) --

    def make_random_frames(self):
        frames = [self.noise_bytes(self.random_length()) for _ in range(self.random.randint(1, 8))]
        if self.random.random() < 0.3:
            frames[self.random.randrange(len(frames))] = SIGNATURE + bytes([VERSION]) + self.noise_bytes(
                self.random.randint(0, 60))
        return [frames]

    def make_mutated_header(self):
        frame = bytearray(self.valid_header())
        for _ in range(self.random.choice([1, 1, 1, 2, 3])):
            mutation = self.random.randrange(7)
            if mutation == 0:  # bit flips
                for _ in range(self.random.randint(1, 4)):
                    if frame:
                        frame[self.random.randrange(len(frame))] ^= 1 << self.random.randrange(8)
            elif mutation == 1:  # truncation, walking through every length
                self.truncate_at = (self.truncate_at + 1) % max(len(frame), 1)
                del frame[self.truncate_at:]
            elif mutation == 2:  # extra bytes
                frame += self.noise_bytes(self.random.randint(1, 64))
            elif mutation == 3 and frame:  # a boundary byte anywhere
                frame[self.random.randrange(len(frame))] = self.random.choice([0x00, 0x7F, 0x80, 0xFF])
            elif mutation == 4 and len(frame) > 28:  # a name length that lies
                frame[28] = self.random.randrange(256)
            elif mutation == 5 and len(frame) > 4:  # the trace flag toggled, trace bytes not
                frame[4] ^= FLAG_TRACE
            elif mutation == 6 and len(frame) > 3:  # a field overwritten with noise
                start = self.random.randrange(2, len(frame))
                frame[start:start + 8] = self.noise_bytes(min(8, len(frame) - start))
        frames = ([b""] if self.random.random() < 0.9 else []) + [bytes(frame)] + self.body(2, 64)
        return [frames]

    def make_oversized_header(self):
        variant = self.random.randrange(4)
        if variant == 0:  # the name says 255, the frame goes on and on
            size = self.random.choice([256, 300, 1024, 4096, 65535, 65536, 70000, 1024 * 1024])
            frame = header(REQUEST, name=b"echo", name_length=255) + self.noise_bytes(size)
        elif variant == 1:  # name length larger than what follows
            name = self.random.choice(SAFE_NAMES)[:self.random.randint(0, 20)]
            frame = header(self.random.choice(COMMANDS), name=name, name_length=self.random.randint(len(name) + 1, 255))
        elif variant == 2:  # name length smaller than what follows
            name = self.random.choice(SAFE_NAMES) + self.noise_bytes(self.random.randint(1, 200))
            frame = header(self.random.choice(COMMANDS), name=name, name_length=self.random.randint(0, max(len(name) - 1, 0)))
        else:  # a valid header followed by junk, with or without a trace
            frame = self.valid_header() + self.noise_bytes(self.random.choice([1, 15, 16, 17, 1000, 20000]))
        return [[b"", frame] + self.body(1, 32)]

    def make_unknown_command(self):
        command = self.random.choice([0] + list(range(8, 256)))
        return [[b"", self.valid_header(command, name=self.random.choice(SAFE_NAMES))] + self.body()]

    def make_bad_version(self):
        if self.random.random() < 0.7:
            frame = self.valid_header(version=self.random.choice([0] + list(range(2, 256))))
        else:
            frame = self.valid_header(signature=self.random.choice([b"MZ", b"zm", b"\x00\x00", b"ZN", b"\xff\xff", b"Z\x00"]))
        return [[b"", frame] + self.body()]

    def make_bad_name(self):
        variant = self.random.randrange(6)
        if variant == 0:
            name = self.random.choice(INVALID_UTF8)
        elif variant == 1:
            name = self.random.choice(SAFE_NAMES)[:40] + self.random.choice(INVALID_UTF8)
        elif variant == 2:
            name = self.random.choice([b"", b"echo", b"kv"]) + self.random.choice(CONTROL) + self.random.choice([b"", b".get"])
        elif variant == 3:  # 255 bytes of two-byte characters cut in the middle of the last one
            name = ("é" * 128).encode()[:255]
        elif variant == 4:  # random bytes
            name = self.noise_bytes(self.random.randint(1, 255))
        else:  # an empty name on a REQUEST
            name = b""
        command = REQUEST if self.random.random() < 0.7 else self.random.choice(COMMANDS)
        return [[b"", self.valid_header(command, name=name[:255])] + self.body()]

    def make_stray_reply(self):
        command = self.random.choice([REPLY, ERROR])
        status = self.random.choice([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 99, 100, 409, 65535])
        flags = self.random.randrange(256) & ~FLAG_TRACE
        body = self.body()
        if command == ERROR and self.random.random() < 0.5:
            body = [self.random.choice([b"conflict", b"\xff\xfe invalid", b"", b"x" * 5000])]
        return [[b"", self.valid_header(command, status=status if command == ERROR else 0, flags=flags,
                                        name=self.random.choice([b"", b"echo", b"kv.get"]))] + body]

    def make_stray_cancel(self):
        return [[b"", self.valid_header(CANCEL, name=self.random.choice([b"", b"echo", b"mesh.lookup"]))]
                + self.body(1, 16)]

    def make_phantom_heartbeat(self):
        roll = self.random.random()
        if roll < 0.02:  # a burst of new instances
            return [self.announcement_message(self.announcement(), HEARTBEAT) for _ in range(self.random.randint(20, 200))]
        if roll < 0.35 and self.phantoms:  # a known phantom again: stays live, or leaves
            return [self.announcement_message(self.random.choice(self.phantoms))]
        value = self.announcement()
        if len(self.phantoms) < 50:
            self.phantoms.append(value)
        return [self.announcement_message(value)]

    def make_garbage_json(self):
        depth = self.random.choice([100, 1000, 8000, 16000])
        variants = [
            b"", b"{", b"}", b"null", b"[]", b"{}", b'"text"', b"123", b"true", b"\xff\xfe\xfd",
            b'{"instance": 1}', b'{"instance": "x"}',
            json.dumps(self.announcement(services="echo")).encode(),
            json.dumps(self.announcement(load="3")).encode(),
            json.dumps({key: value for key, value in self.announcement().items() if key != "endpoint"}).encode(),
            json.dumps(self.announcement(services=[None, 1, {}])).encode(),
            b"[" * depth + b"]" * depth,
            b'{"a":' * (depth // 5) + b"1" + b"}" * (depth // 5),
            b'{"instance":"x","load":1e999}', b'{"instance":"x","load":99999999999999999999999999}',
            b'{"instance":NaN,"load":Infinity}', b'{"instance":"\\ud800","node":"\\udfff"}',
            b'{"instance":"a","instance":"b"}', b"\xef\xbb\xbf{}", '{"instance":"x"}'.encode("utf-16"),
            b'{"instance":"\x00\x01"}', b'{"instance":"' + b"\xc0\x80" * 10 + b'"}',
            self.noise_bytes(self.random.randint(1, 2000)),
            json.dumps(self.announcement()).encode()[:self.random.randint(1, 100)],
        ]
        command = HEARTBEAT if self.random.random() < 0.7 else DISCONNECT
        roll = self.random.random()
        if roll < 0.1:  # no body frame at all
            return [[b"", self.valid_header(command, name=b"")]]
        if roll < 0.2:  # several body frames, each a good announcement
            return [[b"", self.valid_header(command, name=b"")]
                    + [json.dumps(self.announcement()).encode() for _ in range(self.random.randint(2, 5))]]
        return [[b"", self.valid_header(command, name=b""), self.random.choice(variants)]]

    def make_huge_json(self):
        size = self.random.choice([MAX_ANNOUNCEMENT + 1, 20000, 40000, 65000, 70000, 300000])
        if self.random.random() < 0.5:
            value = self.announcement(padding="p" * size)
        else:  # 64 names of 255 bytes: each rule but the size is kept
            names = ["%03d" % index + "n" * 252 for index in range(64)]
            value = self.announcement(services=names, node="n" * 255)
        return [self.announcement_message(value)]

    def make_bad_endpoint(self):
        variant = self.random.randrange(4)
        if variant == 0:
            value = self.announcement(endpoint=self.random.choice(BAD_ENDPOINTS + [5601, None, ["tcp://127.0.0.1:1"]]))
        elif variant == 1:
            services = self.random.choice([[], PHANTOM_SERVICES[:65], ["echo.get"], [""], ["a\x01"], ["x" * 256],
                                           ["hostile1", "kv.put"], "echo", [".."]])
            value = self.announcement(services=services)
        elif variant == 2:
            field = self.random.choice(["load", "capacity", "interval_ms"])
            value = self.announcement(**{field: self.random.choice(BAD_NUMBERS + ([0] if field == "interval_ms" else []))})
        else:
            value = self.announcement(instance=self.random.choice(["", "i" * 256, None, 7]),
                                      node=self.random.choice(["", "n" * 256, None]))
        return [self.announcement_message(value)]

    def make_empty_flood(self):
        return [[b""] for _ in range(self.random.randint(100, 1000))]

    def make_many_frames(self):
        count = self.random.randint(100, 300)
        variant = self.random.randrange(4)
        if variant == 0:
            frames = [b""] * count
        elif variant == 1:
            frames = [b"", self.valid_header(REQUEST, name=b"echo")] + [b"b"] * count
        elif variant == 2:
            frames = [bytes([1 + index % 255]) for index in range(count)] + [b"", self.valid_header(REQUEST, name=b"echo"), b"x"]
        else:
            frames = [self.noise_bytes(self.random.randint(0, 16)) for _ in range(count)]
        return [frames]

    def make_large_body(self):
        if self.large_bytes >= 128 * 1024 * 1024:
            return self.make_random_frames()
        size = self.random.randint(1024 * 1024, 4 * 1024 * 1024)
        parts = self.random.randint(1, 3)
        body = [self.noise_bytes(size // parts) for _ in range(parts)]
        self.large_bytes += size
        variant = self.random.randrange(4)
        if variant == 0:
            head = bytes(self.valid_header())[:self.random.randint(0, 28)]
        elif variant == 1:
            head = self.valid_header(REPLY)
        elif variant == 2:
            head = self.valid_header(HEARTBEAT, name=b"")
        else:
            head = self.valid_header(REQUEST, name=self.random.choice([b"nothing", b"mesh.nothing", b"weather.today"]))
        return [[b"", head] + body]

    def make_odd_request(self):
        name = self.random.choice(SAFE_NAMES + [name.encode() for name in PHANTOM_SERVICES[:5]])
        flags = self.random.randrange(256) & ~FLAG_TRACE
        frames = self.hops(10 if self.random.random() < 0.2 else 0) + [b"", self.valid_header(REQUEST, name=name, flags=flags,
                                                                                              attempt=self.random.randrange(256))]
        if name in (b"mesh.lookup", b"mesh.status") and self.random.random() < 0.5:
            frames.append(self.random.choice([b"", b"echo", b"kv", b"\xff", b"hostile1", b"a" * 300, b"echo.get"]))
        else:
            frames += self.body(self.random.choice([0, 1, 1, 2, 16, 17]), 128)
        return [frames]


    def make_majordomo(self):
        # ZeroMQ RFC 18 (MDP/0.2), which a broker may also speak: client [MDPC02][command][service]
        # [body...], worker [MDPW02][command][...]. No empty frame first (this is a DEALER).
        service = self.random.choice(MDP_NAMES + [name.encode() for name in PHANTOM_SERVICES[:5]])
        variant = self.random.randrange(10)
        if variant == 0:  # a client request for a name nobody serves, or an MMI query
            frames = [MDP_CLIENT, b"\x01", service] + self.body(2, 64)
        elif variant == 1:  # MMI with an odd argument
            frames = [MDP_CLIENT, b"\x01", self.random.choice([b"mmi.service", b"mmi.echo", b"mmi.nothing"]),
                      self.random.choice([b"", b"echo", b"\xff", b"x" * 300, b"hostile1"])]
        elif variant == 2:  # a worker READY for a made-up service (never a real one: that is impersonation)
            frames = [MDP_WORKER, b"\x01", self.random.choice([name.encode() for name in PHANTOM_SERVICES[:5]] + MDP_NAMES[-4:])]
        elif variant == 3:  # PARTIAL or FINAL for a client nobody knows, with good and bad address lengths
            address = self.noise_bytes(self.random.choice([16, 16, 0, 1, 15, 17, 255]))
            frames = [MDP_WORKER, self.random.choice([b"\x03", b"\x04"]), address] + ([b""] if self.random.random() < 0.8 else []) + self.body(2, 64)
        elif variant == 4:  # HEARTBEAT and DISCONNECT, from a worker that never said READY, with extra frames
            frames = [MDP_WORKER, self.random.choice([b"\x05", b"\x06"])] + self.body(2, 16)
        elif variant == 5:  # commands that go the other way, or do not exist
            frames = [self.random.choice([MDP_CLIENT, MDP_WORKER]),
                      bytes([self.random.choice([0, 2, 3, 7, 8, 0x7F, 0x80, 0xFF])]), service] + self.body(1, 16)
        elif variant == 6:  # command frames of the wrong length
            frames = [self.random.choice([MDP_CLIENT, MDP_WORKER]), self.random.choice([b"", b"\x01\x01", b"\x01" * 100]), service]
        elif variant == 7:  # other protocol versions and near misses
            frames = [self.random.choice([b"MDPC01", b"MDPW01", b"MDPC03", b"MDPC0", b"MDPC022", b"mdpc02", b"", b"MDP"]),
                      b"\x01", service] + self.body(1, 16)
        elif variant == 8:  # too short: the protocol frame alone, or with the command only
            frames = [self.random.choice([MDP_CLIENT, MDP_WORKER])] + ([b"\x01"] if self.random.random() < 0.5 else [])
        else:  # a client request with many body frames, or with an empty frame first (MDP/0.1 style)
            frames = ([b""] if self.random.random() < 0.5 else []) + [MDP_CLIENT, b"\x01", service] + [b"b"] * self.random.randint(0, 40)
        return [frames]


    def make_distinct_names(self):
        # A burst of requests, each for a name never used before and served by nobody: no node
        # may keep anything per such name (issue 10). Native calls to any node, look-ups of
        # such names, and Majordomo requests for such services.
        messages = []
        for _ in range(self.random.randint(1, 50)):
            self.distinct += 1
            form = self.random.choice(DISTINCT_FORMS)
            prefix = self.random.choice([b"hostile-distinct-", b"echo.hostile-distinct-", b"kv.hostile-distinct-"]) \
                if form == "native" else b"hostile-distinct-"
            name = prefix + b"%d-%d" % (self.index, self.distinct)
            messages.append(distinct_name_request(form, name, self.distinct))
        return messages


class Summary:
    def __init__(self):
        self.sent = {}
        self.dropped = {}
        self.replies = 0
        self.reply_commands = {}
        self.bytes = 0


def drain(poller, owners, summary, budget=2000):
    """Receives and discards what has arrived, without blocking; returns messages received."""
    received = 0
    for socket, _ in poller.poll(0):
        endpoint = owners.get(socket)
        while received < budget:
            try:
                frames = socket.recv_multipart(flags=zmq.NOBLOCK, copy=True)
            except zmq.Again:
                break
            received += 1
            summary.replies += 1
            if endpoint is not None:
                endpoint.replies += 1
            # Replies to requests sent with extra routing hops come back with those hops first.
            delimiter = next((position for position, frame in enumerate(frames) if not frame), None)
            head = frames[delimiter + 1] if delimiter is not None and delimiter + 1 < len(frames) else b""
            command = COMMAND_NAMES.get(head[3], "other") if len(head) >= 4 and head[:2] == SIGNATURE else "other"
            summary.reply_commands[command] = summary.reply_commands.get(command, 0) + 1
    return received


def main():
    parser = argparse.ArgumentParser(description="Send hostile input to ZMesh nodes (see the docstring).")
    parser.add_argument("--seconds", type=float, required=True, help="how long to send (at most 600)")
    parser.add_argument("--seed", type=int, required=True, help="seed of every generator")
    parser.add_argument("--max-messages", type=int, default=200_000, help="messages per endpoint at most")
    parser.add_argument("--sockets", type=int, default=4, help="DEALER sockets (peers) per endpoint")
    parser.add_argument("--hwm", type=int, default=1000, help="send and receive high-water mark per socket")
    parser.add_argument("--churn", type=int, default=2000,
                        help="replace one socket of an endpoint every this many messages to it (0: never)")
    parser.add_argument("--kinds", type=lambda text: [kind for kind in text.split(",") if kind],
                        help="only these categories, comma-separated: " + ",".join(KINDS))
    parser.add_argument("--log", help="write one line per message to this file")
    parser.add_argument("endpoints", nargs="+", metavar="ENDPOINT")
    options = parser.parse_args()
    if not 0 < options.seconds <= 600 or options.max_messages < 1 or not 1 <= options.sockets <= 64 or options.hwm < 1 or options.churn < 0:
        parser.error("need 0 < --seconds <= 600, --max-messages >= 1, 1 <= --sockets <= 64, --hwm >= 1, --churn >= 0")
    if options.kinds is not None:
        unknown = [kind for kind in options.kinds if kind not in KINDS]
        if unknown or not options.kinds:
            parser.error("unknown kinds %s; known: %s" % (unknown, ",".join(KINDS)))

    log = open(options.log, "w") if options.log else None
    context = zmq.Context()
    summary = Summary()
    endpoints = [Endpoint(context, address, index, options.seed, options, log)
                 for index, address in enumerate(options.endpoints)]
    started = time.monotonic()
    deadline = started + options.seconds
    rounds = 0
    try:
        while time.monotonic() < deadline:
            active = [endpoint for endpoint in endpoints if not endpoint.exhausted()]
            if not active:
                break
            for endpoint in active:
                for _ in range(16):
                    endpoint.step(summary)
                    if endpoint.exhausted():
                        break
            # Sockets change with churn: rebuild the poller each round (cheap next to sending).
            poller = zmq.Poller()
            owners = {}
            for endpoint in endpoints:
                for socket in endpoint.sockets:
                    poller.register(socket, zmq.POLLIN)
                    owners[socket] = endpoint
            drain(poller, owners, summary)
            rounds += 1
        sending = time.monotonic() - started
        # Take in what is still on its way for a moment, then leave without waiting for anything.
        settle = time.monotonic() + 0.3
        while time.monotonic() < settle:
            poller = zmq.Poller()
            owners = {}
            for endpoint in endpoints:
                for socket in endpoint.sockets:
                    poller.register(socket, zmq.POLLIN)
                    owners[socket] = endpoint
            if drain(poller, owners, summary) == 0:
                time.sleep(0.01)
    finally:
        for endpoint in endpoints:
            for socket in endpoint.sockets:
                socket.close(linger=0)
        context.term()
        if log is not None:
            log.close()

    sent = sum(summary.sent.values())
    dropped = sum(summary.dropped.values())
    print(json.dumps({
        "seed": options.seed, "seconds": round(sending, 3), "endpoints": len(endpoints),
        "sent_total": sent, "dropped_eagain_total": dropped,
        "sent_per_second": round(sent / sending) if sending > 0 else 0,
        "sent": dict(sorted(summary.sent.items())), "dropped_eagain": dict(sorted(summary.dropped.items())),
        "replies": summary.replies, "replies_by_command": dict(sorted(summary.reply_commands.items())),
        "bytes_sent": summary.bytes, "reconnects": sum(endpoint.reconnects for endpoint in endpoints),
        "capped": all(endpoint.exhausted() for endpoint in endpoints),
        "per_endpoint": {endpoint.address: {"sent": endpoint.sent, "dropped_eagain": endpoint.dropped,
                                            "replies": endpoint.replies} for endpoint in endpoints},
    }, separators=(",", ":")))
    return 0


if __name__ == "__main__":
    sys.exit(main())
