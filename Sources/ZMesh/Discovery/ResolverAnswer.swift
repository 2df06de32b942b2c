/// The one rule for taking a resolver's answer, shared by the client's call table and the
/// broker's router.
enum ResolverAnswer {
    /// What to hold after an answer listing `listed`: a complete answer replaces `held`; an
    /// incomplete one (from a registry that just started, which may not have heard every live
    /// instance yet) can only add to it, never remove.
    ///
    /// A complete answer comes back as listed (order and repeats kept); an incomplete one as
    /// the union, in no particular order.
    static func merge<Member: Hashable>(held: some Sequence<Member>, listed: [Member], complete: Bool) -> [Member] {
        complete ? listed : Array(Set(listed).union(held))
    }
}

extension InstanceInfo {
    /// Whether it is live and hosts `service`: an instance a call to `service` may go to.
    func isLive(hosting service: String) -> Bool {
        health == .live && services.contains(service)
    }
}

extension LookupReply {
    /// Whether the answer lists a live instance that hosts `service`.
    func lists(liveInstanceOf service: String) -> Bool {
        instances.contains { $0.isLive(hosting: service) }
    }
}
