/// A reference to an object held and used without reference counting: no retain when it is
/// stored, none when it is used.
///
/// For hot paths that reach the same long-lived objects (an actor, its sockets) once per
/// message, where a counted reference costs a retain and a release each time, and more when the
/// object is also weakly referenced (its counts then live in a side table). An `unowned(unsafe)`
/// field is not enough: loading one into a strong reference to call a method retains it.
///
/// Safe only while something else keeps the object alive for as long as this is used: in
/// ZMesh, an `Output` made for one event inside a method of the actor that owns the objects.
@frozen
public struct Uncounted<Object: AnyObject> {
    @usableFromInline let reference: Unmanaged<Object>

    /// Refers to `object` without retaining it.
    @inlinable @inline(__always)
    public init(_ object: Object) {
        reference = .passUnretained(object)
    }

    /// Runs `body` with the object, borrowed (neither retained nor released).
    @inlinable @inline(__always)
    public func with<Result>(_ body: (Object) throws -> Result) rethrows -> Result {
        try reference._withUnsafeGuaranteedRef(body)
    }
}
