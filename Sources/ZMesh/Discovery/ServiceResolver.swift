/// Finds the live instances behind service names, for clients and brokers alike: look-ups on
/// demand, and notice of changes as they happen.
///
/// ``RegistryResolver`` asks the built-in registries; another discovery back end (etcd, say)
/// is another conforming type, chosen by the node's configuration, with no change to the
/// client or broker that uses it. An actor on its owner's executor: the owner calls it
/// synchronously with `assumeIsolated`, and every event reaches the handler installed at
/// ``start(_:)`` on that executor, never from inside a call to the resolver.
protocol ServiceResolver: Actor {
    /// Connects, and from now on hands every ``ResolverEvent`` to `handler`.
    func start(_ handler: @escaping (ResolverEvent) -> Void) throws
    /// Looks up the live instances of `service` (of every service if nil). Each look-up ends
    /// in exactly one ``ResolverEvent/answered(service:_:)`` or
    /// ``ResolverEvent/failed(service:_:)``, unless the resolver is closed first (a look-up
    /// of the same name still waiting to be sent may be answered once for both).
    func lookUp(_ service: String?)
    /// Stops: no event after this.
    func close()
}

/// What a ``ServiceResolver`` tells its owner.
enum ResolverEvent: Sendable {
    /// The answer to a look-up of `service` (nil: every service): the live instances, and
    /// whether the answer is complete (an incomplete one may only add instances).
    case answered(service: String?, LookupReply)
    /// A look-up of `service` got no answer: `forbidden` if the registries refused this node,
    /// otherwise why none answered.
    case failed(service: String?, MeshError)
    /// The instances of `service` changed: the answer as it stands now.
    case changed(service: String, LookupReply)
    /// Something arrived that does not decode (counted by the owner, then dropped).
    case malformed(MalformedReason)
}
