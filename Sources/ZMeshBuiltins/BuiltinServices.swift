public import ZMesh

/// The example services a node can host by name, for demos, tests and a first look (what
/// `zmesh node` and `zmesh serve` host):
///
/// | service | names | what it does |
/// |---|---|---|
/// | `echo` | `echo`, `echo.async`, `echo.whoami`, `echo.count` | replies with the payload (`echo.async` as a task per request); `whoami` with the node's name; `count KEY` with how many times this instance ran it for KEY |
/// | `kv` | `kv.put`, `kv.get`, `kv.delete` | an in-memory store: `put` takes `key=value`, the others `key` |
/// | `sleep` | `sleep` | waits the payload's milliseconds (default 100), then replies with it |
/// | `stream` | `stream.count`, `stream.sum`, `stream.echo` | `count`, a server stream: the decimal numbers 1 to N (the payload `N [WIDTH]`), one a message, in order, zero-padded to WIDTH bytes if given; `sum`, a client stream: replies with the sum of the decimal numbers sent and how many there were (`5050 100`); `echo`, a bidirectional stream: sends each message back as it comes |
public enum BuiltinServices {
    /// Names of the services this enum can provide.
    public static let names = ["echo", "kv", "sleep", "stream"]

    /// The built-in handlers for the services `topology` lists for its node called `name`:
    /// what `zmesh node` hosts, to pass to `MeshNode.make`. None for a registry or a broker.
    ///
    /// ```swift
    /// let node = try MeshNode.make(named: name, in: topology,
    ///                              handlers: BuiltinServices.handlers(forNode: name, in: topology),
    ///                              logger: logger, onListening: ReadyFile.announce)
    /// ```
    ///
    /// - Throws: ``ConfigurationError`` if the file has no node called `name`, or lists for it
    ///   a service that is not built in.
    public static func handlers(forNode name: String, in topology: Topology) throws(ConfigurationError) -> ServiceHandlers {
        guard let node = topology.node(named: name) else {
            throw ConfigurationError("\(topology.path) has no node named \(name) (it has \(topology.nodes.map(\.name).joined(separator: ", ")))")
        }
        guard case .service(let instance) = node else { return ServiceHandlers() }
        return try handlers(for: instance.services, nodeName: instance.name)
    }

    /// The handlers for `services`, for a node called `nodeName`.
    ///
    /// - Throws: ``ConfigurationError`` naming an unknown service.
    public static func handlers(for services: [String], nodeName: String) throws(ConfigurationError) -> ServiceHandlers {
        var handlers = ServiceHandlers()
        for service in services {
            switch service {
            case "echo": handlers.merge(echo(nodeName: nodeName))
            case "kv": handlers.merge(keyValue())
            case "sleep": handlers.merge(sleep())
            case "stream": handlers.merge(streams())
            default:
                throw ConfigurationError("no built-in service named \(service) (built-ins: \(names.joined(separator: ", ")))")
            }
        }
        return handlers
    }

    /// Most numbers `stream.count` streams.
    public static let maxCount = 100_000_000
    /// Widest `stream.count` pads its numbers to.
    public static let maxWidth = 65_536

    /// `number` (not negative) in decimal, with leading zeros up to `width` bytes: one
    /// allocation, as a stream's producer writes millions of them.
    static func padded(_ number: Int, to width: Int) -> [UInt8] {
        var digits = 1
        var rest = number / 10
        while rest > 0 {
            digits += 1
            rest /= 10
        }
        var bytes = [UInt8](repeating: UInt8(ascii: "0"), count: max(width, digits))
        var value = number
        var index = bytes.count - 1
        repeat {
            bytes[index] = UInt8(ascii: "0") + UInt8(value % 10)
            value /= 10
            index -= 1
        } while value > 0
        return bytes
    }

    /// `stream.count N [WIDTH]`: the decimal numbers 1 to N, one a message, in order (a server
    /// stream); with WIDTH, each zero-padded to that many bytes (`stream.count 1000000 64`: a
    /// million 64-byte messages). `stream.sum`: a client stream of decimal integers, answered
    /// with their sum and count. `stream.echo`: a bidirectional stream, each message sent back.
    public static func streams() -> ServiceHandlers {
        var handlers = ServiceHandlers()
        handlers.registerServerStream("stream.count") { payload, _, writer in
            let words = String(decoding: payload, as: UTF8.self).split(whereSeparator: \.isWhitespace)
            guard (1...2).contains(words.count), let count = Int(words[0]), (0...maxCount).contains(count),
                  let width = words.count == 2 ? Int(words[1]) : 0, (0...maxWidth).contains(width) else {
                throw ServiceError(code: 400, message: "stream.count takes N (0 to \(maxCount)) and an optional width (0 to \(maxWidth)), not \"\(String(decoding: payload.prefix(40), as: UTF8.self))\"")
            }
            guard count > 0 else { return }
            for number in 1...count { try await writer.write(padded(number, to: width)) }
        }
        handlers.registerClientStream("stream.sum") { requests, _ in
            var total = 0
            var count = 0
            for try await message in requests {
                let text = String(decoding: message, as: UTF8.self).trimmingCharacters(in: .whitespaces)
                guard let number = Int(text) else {
                    throw ServiceError(code: 400, message: "stream.sum takes decimal integers, one a message; message \(count + 1) is \"\(text.prefix(40))\"")
                }
                total &+= number
                count += 1
            }
            return Array("\(total) \(count)".utf8)
        }
        handlers.registerBidirectionalStream("stream.echo") { requests, _, writer in
            for try await message in requests { try await writer.write(message) }
        }
        return handlers
    }

    /// `echo` and `echo.whoami`.
    public static func echo(nodeName: String) -> ServiceHandlers {
        var handlers = ServiceHandlers()
        handlers.registerInline("echo") { payload, _ in payload }
        // The same, as a task per request: for measuring the concurrent-handler path.
        handlers.register("echo.async") { payload, _ in payload }
        let name = Array(nodeName.utf8)
        handlers.registerInline("echo.whoami") { _, _ in name }
        // Counts runs per key on this instance: a reply other than "1" for a fresh key means
        // the same call ran twice here (tests use it to check the reply cache under failover).
        let counts = KeyValueStore()
        handlers.registerInline("echo.count") { payload, _ in
            let key = String(decoding: payload, as: UTF8.self)
            return Array(String(counts.increment(key)).utf8)
        }
        return handlers
    }

    /// `kv.put` (`key=value`), `kv.get` (`key`) and `kv.delete` (`key`), over one in-memory store.
    public static func keyValue() -> ServiceHandlers {
        let store = KeyValueStore()
        var handlers = ServiceHandlers()
        handlers.registerInline("kv.put") { payload, _ in
            let text = String(decoding: payload, as: UTF8.self)
            guard let equals = text.firstIndex(of: "="), equals != text.startIndex else {
                throw ServiceError(code: 400, message: "kv.put takes key=value, got \"\(text)\"")
            }
            store.put(String(text[..<equals]), Array(text[text.index(after: equals)...].utf8))
            return Array("OK".utf8)
        }
        handlers.registerInline("kv.get") { payload, _ in
            let key = String(decoding: payload, as: UTF8.self)
            guard let value = store.get(key) else { throw ServiceError(code: 404, message: "no key \"\(key)\"") }
            return value
        }
        handlers.registerInline("kv.delete") { payload, _ in
            let key = String(decoding: payload, as: UTF8.self)
            guard store.delete(key) else { throw ServiceError(code: 404, message: "no key \"\(key)\"") }
            return Array("OK".utf8)
        }
        handlers.registerInline("kv") { _, context in
            throw ServiceError(code: 400, message: "call kv.put, kv.get or kv.delete, not \(context.name)")
        }
        return handlers
    }

    /// `sleep`: waits the payload's milliseconds (default 100, at most 600000), then echoes it.
    public static func sleep() -> ServiceHandlers {
        var handlers = ServiceHandlers()
        handlers.register("sleep") { payload, _ in
            let milliseconds = Int(String(decoding: payload, as: UTF8.self)) ?? 100
            try await Task.sleep(for: .milliseconds(min(max(milliseconds, 0), 600_000)))
            return payload
        }
        return handlers
    }
}
