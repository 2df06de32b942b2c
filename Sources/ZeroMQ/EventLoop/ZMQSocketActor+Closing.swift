import MeshClock
/// Closing a socket actor's sockets: now, lingering (so replies already written still leave),
/// or, when the actor is gone, on the loop thread that used them.
extension ZMQSocketActor {
    /// Closes the socket now: queued outbound messages are dropped, waiting receivers get nil.
    public func close() {
        closeNow()
    }

    /// Closes the socket but lets libzmq keep sending what it holds for up to `linger`
    /// (replies already written must reach their peers when a node stops gracefully): one
    /// last try empties the outbound queue into libzmq first. The context's termination
    /// waits for at most `linger`.
    public func close(lingering linger: Duration) {
        guard !closed else { return }
        flushHeld()
        flushOutbound()
        try? socket.set(.linger(milliseconds: Int32(clamping: linger.millisecondsClamped)))
        closeNow()
    }

    func closeNow() {
        guard !closed else { return }
        closed = true
        if let registration { loop.unregister(registration) }
        registration = nil
        if let routerRetryTimer { loop.cancelTimer(routerRetryTimer) }
        routerRetryTimer = nil
        if let monitorRegistration { loop.unregister(monitorRegistration) }
        monitorRegistration = nil
        if let monitorSocket {
            socket.stopMonitor()
            monitorSocket.close()
        }
        monitorSocket = nil
        monitorHandler = nil
        socket.releaseFrames()
        socket.close()
        droppedOutbound += UInt64(outbound.count + discardHeld())
        outbound.removeAll()
        waitingPeers.removeAll()
        handler = nil
        framesHandler = nil
        let pending = waiters
        waiters.removeAll()
        waiterOrder.removeAll()
        for (_, waiter) in pending { waiter.resume(returning: nil) }
    }
}

/// A dead socket actor's sockets, carried to the loop thread to be closed there.
///
/// `@unchecked Sendable` is safe: the actor that owned these sockets has been deinitialised,
/// so nothing else refers to them; they cross to the loop thread once and are closed there,
/// the same thread that used them all along.
struct OrphanedSockets: @unchecked Sendable {
    let socket: ZMQSocket
    let monitor: ZMQSocket?
    let registrations: [LoopRegistration]
    let timer: LoopTimerID?

    func close(on loop: EventLoop) {
        for registration in registrations { loop.unregister(registration) }
        if let timer, !loop.isShutDown { loop.cancelTimer(timer) }
        if let monitor {
            socket.stopMonitor()
            monitor.close()
        }
        socket.close()
    }
}
