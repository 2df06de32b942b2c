
extension Topology {
    /// The key store of the file's `security` section, if CURVE is on.
    public var keyStore: KeyStore? {
        security.map { KeyStore(directory: $0.keysDirectory) }
    }

    /// The CURVE settings for node `name`: its key pair, every server's public key, and the
    /// allow-list (every node and every listed client). Nil when the file does not turn
    /// CURVE on.
    public func curveSettings(forNode name: String) throws(SecurityError) -> CurveSettings? {
        guard let store = keyStore else { return nil }
        return CurveSettings(identity: try store.keyPair(of: name), serverKeys: try serverKeys(store),
                             trusted: try trustedKeys(store))
    }

    /// The CURVE settings for a client using key pair `name` (default: `$ZMESH_CLIENT_KEY`,
    /// else the first client the file lists). Nil when the file does not turn CURVE on.
    public func curveSettings(forClient name: String?) throws(SecurityError) -> CurveSettings? {
        guard let security, let store = keyStore else { return nil }
        guard let client = name ?? security.clients.first else {
            throw SecurityError("\(path) turns CURVE on but lists no clients: add security.clients and run zmesh keygen --config \(path)")
        }
        return CurveSettings(identity: try store.keyPair(of: client), serverKeys: try serverKeys(store))
    }

    /// Public key -> owner name, for every node and listed client.
    func trustedKeys(_ store: KeyStore) throws(SecurityError) -> [String: String] {
        var trusted: [String: String] = [:]
        for name in nodes.map(\.name) + (security?.clients ?? []) {
            trusted[try store.publicKey(of: name)] = name
        }
        return trusted
    }

    /// Endpoint -> the public key of the node that binds it (with wildcard hosts as loopback).
    func serverKeys(_ store: KeyStore) throws(SecurityError) -> [String: String] {
        var keys: [String: String] = [:]
        func add(_ endpoint: String?, _ key: String) {
            guard let endpoint else { return }
            keys[endpoint] = key
            keys[Endpoint.connectable(endpoint)] = key
        }
        for registry in registries {
            let key = try store.publicKey(of: registry.name)
            add(registry.bind, key)
            add(registry.publish, key)
        }
        for broker in brokers {
            let key = try store.publicKey(of: broker.name)
            add(broker.bind, key)
            add(broker.workers, key)
        }
        for service in services {
            let key = try store.publicKey(of: service.name)
            add(service.bind, key)
            add(service.advertise, key)
        }
        return keys
    }

    /// Service node name -> the services it may announce: with CURVE on, a registry accepts a
    /// heartbeat only from a connection authenticated as that service node, for those services.
    public var heartbeatPolicy: [String: Set<String>]? {
        guard security != nil else { return nil }
        var policy = Dictionary(services.map { ($0.name, Set($0.services)) }, uniquingKeysWith: { $0.union($1) })
        // Brokers with a Majordomo workers endpoint announce whatever their workers serve.
        for broker in brokers where broker.workers != nil { policy[broker.name] = ["*"] }
        return policy
    }
}
