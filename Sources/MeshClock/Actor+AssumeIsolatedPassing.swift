extension Actor {
    /// Runs `body` isolated to this actor, now, on the current thread, handing it `value`
    /// even though `value` is not `Sendable` (a borrowed view of received frames, a header in
    /// a stack buffer).
    ///
    /// Safe because nothing crosses a thread: like `assumeIsolated`, it traps unless the
    /// caller already runs on the actor's executor (for actors of an ``EventLoop``, its
    /// thread), runs `body` synchronously, and `body` cannot keep `value` past its return
    /// (views are documented as borrowed). The compiler's region checking cannot see that a
    /// synchronous `assumeIsolated` keeps `value` on its thread, hence the opt-out, made here
    /// once.
    @inline(__always)
    public nonisolated func assumeIsolated<Value, Result: Sendable>(
        passing value: Value, _ body: (isolated Self, Value) throws -> Result
    ) rethrows -> Result {
        nonisolated(unsafe) let borrowed = value
        return try withoutActuallyEscaping(body) { body in
            nonisolated(unsafe) let operation = body
            return try assumeIsolated { isolated in try operation(isolated, borrowed) }
        }
    }
}
