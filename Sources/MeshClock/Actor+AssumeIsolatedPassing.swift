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
    ///
    /// It checks the executor as `assumeIsolated` does (`preconditionIsolated`), then calls
    /// `body` directly, as the standard library's `assumeIsolated` does inside: that one is
    /// generic and not specialised here, and retained and released the actor on every call
    /// (for actors with weak references, through their side table): a cost on every message.
    @inlinable @inline(__always)
    public nonisolated func assumeIsolated<Value, Result: Sendable>(
        passing value: Value, _ body: (isolated Self, Value) throws -> Result
    ) rethrows -> Result {
        preconditionIsolated()
        return try withoutActuallyEscaping(body) { body in
            // The same function without the `isolated` marker: the caller is on the actor's
            // executor (checked above), which is all `isolated` promises.
            let unmarked = unsafeBitCast(body, to: ((Self, Value) throws -> Result).self)
            return try unmarked(self, value)
        }
    }
}
