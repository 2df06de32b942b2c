/// Send coalescing: small messages sent during a loop turn are held and handed to libzmq
/// together at the turn's end.
///
/// libzmq's I/O thread writes to the network whatever its pipe holds when it wakes. Sent one
/// at a time between other work, a turn's replies reach it a few at a time, and every few
/// messages cost a `sendto`, a TCP segment and a wake-up of the peer's I/O thread. Handed over
/// back to back, they leave in one or two writes. Nothing waits past the turn in which it was
/// sent: the loop runs its turn-end actions before it sleeps.
extension ZMQSocketActor {
    /// Largest message held; a larger one first sends what is held, then goes at once.
    public static let largestHeldMessage = 4 * 1024
    /// Most bytes held at once; reaching it sends what is held.
    public static let heldBytesLimit = 64 * 1024

    /// Holds up to `limit` small messages sent during a loop turn and sends them together at
    /// the turn's end (or as soon as `limit` are held); 0 sends every message at once (the
    /// default). Held messages keep their order with every other send on this socket.
    ///
    /// A held send reports ``SendResult/queued``. If libzmq then refuses it (a ROUTER's peer
    /// gone, the outbound queue full), the handler set with ``onLateSendFailure(_:)`` hears, at
    /// the end of the turn.
    public func setSendCoalescing(limit: Int) {
        if limit <= 0 { flushHeld() }
        heldLimit = max(0, limit)
    }

    /// Called with the result of a held message that libzmq did not take when it was sent.
    ///
    /// Always at the end of the loop's turn, never from inside a send: held messages may go
    /// out while their owner is in the middle of sending another (the limit reached, a large
    /// message), and a handler that updated the owner's state from there would touch it while
    /// the owner is still changing it.
    public func onLateSendFailure(_ handler: @escaping (SendResult) -> Void) {
        lateSendFailure = handler
    }

    /// Holds an envelope if coalescing is on and it is small; nil if it must go now (what
    /// was held went first).
    @inline(__always)
    func holdEnvelope(routing: [[UInt8]], header: UnsafeRawBufferPointer, body: UnsafeRawBufferPointer) -> SendResult? {
        guard heldLimit > 0 else { return nil }
        var size = header.count + body.count
        for id in routing { size += id.count }
        return hold(size: size) { $0.appendEnvelope(routing: routing, header: header, body: body) }
    }

    /// ``holdEnvelope(routing:header:body:)`` for a message of whole frames.
    @inline(__always)
    func holdFrames(_ frames: [[UInt8]]) -> SendResult? {
        guard heldLimit > 0 else { return nil }
        return hold(size: frames.reduce(0) { $0 + $1.count }) { $0.append(frames) }
    }

    /// Holds a message of `size` bytes (`append` packs it), or, for one too large or a closed
    /// socket, sends what is held and returns nil (the caller sends it now). A message that
    /// would overfill the outbound queue, counting what is held, is dropped as a send to a
    /// full queue is.
    @inline(__always)
    private func hold(size: Int, _ append: (inout HeldMessages) -> Void) -> SendResult? {
        guard size <= Self.largestHeldMessage, !closed else {
            flushHeld()
            return nil
        }
        guard type == .router || outbound.count + held.count < outboundLimit else {
            droppedOutbound += 1
            return .dropped
        }
        append(&held)
        if held.count >= heldLimit || held.byteCount >= Self.heldBytesLimit {
            flushHeld()
        } else {
            armTurnEnd()
        }
        return .queued
    }

    private func armTurnEnd() {
        guard !heldFlushArmed else { return }
        heldFlushArmed = true
        // Strong: the actor stays alive until what it holds has gone (within this turn).
        loop.atTurnEnd { self.assumeIsolated { $0.turnEnded() } }
    }

    private func turnEnded() {
        heldFlushArmed = false
        flushHeld()
        guard !lateFailures.isEmpty else { return }
        let failures = lateFailures
        lateFailures.removeAll()
        if let lateSendFailure { for failure in failures { lateSendFailure(failure) } }
    }

    /// Hands every held message to libzmq, in order, through the one send path (so a message
    /// libzmq cannot take now waits in the outbound queue as any other would).
    func flushHeld() {
        guard !held.isEmpty else { return }
        var messages = HeldMessages()
        swap(&messages, &held)
        for index in 0..<messages.count {
            let result = try? messages.withMessage(index) { bytes, lengths in
                try send({ () throws(ZMQError) in try socket.send(packed: bytes, frameLengths: lengths) },
                         queueing: messages.frames(of: index))
            }
            switch result {
            case .sent, .queued: break
            case .unroutable, .dropped, nil: if lateSendFailure != nil { lateFailures.append(result ?? .dropped) }
            }
        }
        messages.removeAll()
        if held.isEmpty { swap(&messages, &held) }   // keep the grown buffers
        // Reported at the turn's end (see `onLateSendFailure`), not from inside this send.
        if !lateFailures.isEmpty { armTurnEnd() }
    }

    /// Drops what is held (the socket is closing, or its owner discards what waits).
    func discardHeld() -> Int {
        let count = held.count
        held.removeAll()
        return count
    }
}
