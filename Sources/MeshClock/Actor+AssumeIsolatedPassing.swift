extension Actor {
    /// Runs `body` isolated to this actor, now, on the current thread, handing it `value`
    /// even though `value` is not `Sendable` (a borrowed view of received frames, a header in
    /// a stack buffer).
    ///
    /// For paths taken once per message. `body` should capture nothing and take all it needs
    /// from `value` (a tuple, if need be): a closure that captures nothing has no context,
    /// so a call allocates nothing. (One that captures has its context allocated on the heap
    /// each time: `body` is escaping. The standard library's `assumeIsolated`, whose body is
    /// not, allocated two objects per call, measured, because it makes the body escaping
    /// inside with `withoutActuallyEscaping`; it also retained and released the actor, for
    /// actors with weak references through their side table.)
    ///
    /// Safe because nothing crosses a thread: like `assumeIsolated`, it traps unless the
    /// caller already runs on the actor's executor (for actors of an ``EventLoop``, its
    /// thread), runs `body` synchronously, and does not keep `body` or `value` past its
    /// return (views are documented as borrowed). The compiler's region checking cannot see
    /// that a synchronous `assumeIsolated` keeps `value` on its thread, hence the opt-out,
    /// made here once.
    @inlinable @inline(__always)
    public nonisolated func assumeIsolated<Value, Result, Failure: Error>(
        passing value: Value, _ body: @escaping (isolated Self, Value) throws(Failure) -> Result
    ) throws(Failure) -> Result {
        preconditionIsolated()
        // The same function without the `isolated` marker: the caller is on the actor's
        // executor (checked above), which is all `isolated` promises.
        let unmarked = unsafeBitCast(body, to: ((Self, Value) throws(Failure) -> Result).self)
        return try unmarked(self, value)
    }
}
