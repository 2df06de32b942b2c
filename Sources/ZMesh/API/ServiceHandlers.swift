/// The named handlers a ``ServiceNode`` hosts.
///
/// Names are what callers call: `echo`, `kv.get`, `greeter.hello`. The part before the first
/// dot is the service a topology file and the registry know (`kv`); a request for `kv.get`
/// goes to the handler registered as `kv.get`, or else to one registered as `kv`.
///
/// ```swift
/// var handlers = ServiceHandlers()
/// handlers.register("echo") { payload, _ in payload }
/// handlers.register("greeter.hello") { (request: HelloRequest, context) in
///     HelloReply(message: "Hello, \(request.name)!")
/// }
/// ```
public struct ServiceHandlers: Sendable {
    /// A handler over raw bytes.
    public typealias RawHandler = @Sendable (_ payload: [UInt8], _ context: RequestContext) async throws -> [UInt8]

    /// A synchronous handler that runs on the node's I/O thread (see ``registerInline(_:_:)``).
    public typealias InlineHandler = @Sendable (_ payload: [UInt8], _ context: RequestContext) throws -> [UInt8]

    /// A handler that reads the request's metadata from its argument and sets the reply's
    /// trailing metadata (see ``registerWithMetadata(_:_:)``).
    public typealias FullHandler = @Sendable (_ request: MeshRequest, _ context: RequestContext) async throws -> MeshReply

    /// How a registered handler runs.
    enum Handler: Sendable {
        /// As its own task on the global concurrent executor, up to the node's limit at once.
        case concurrent(FullHandler)
        /// Synchronously on the I/O loop, at once.
        case inline(InlineHandler)
        /// An inline handler behind interceptors: as a task (interceptors may await), on the
        /// node's own loop, so no thread hand-off, and counted like a concurrent one.
        case loopTask(FullHandler)
    }

    var handlers: [String: Handler] = [:]
    /// What `mesh.describe` says of each name: its kind and, for typed handlers, its types.
    private var descriptions: [String: MethodDescription] = [:]

    /// No handlers yet.
    public init() {}

    /// Registers a handler over raw bytes. Each request runs as its own task, so it may
    /// await, sleep or compute as long as it likes without delaying other calls.
    public mutating func register(_ name: String, _ handler: @escaping RawHandler) {
        precondition(Header.isValidName(name), "handler name must be 1 to 255 bytes of UTF-8 without control characters: \(name)")
        handlers[name] = .concurrent { request, context in MeshReply(payload: try await handler(request.payload, context)) }
        descriptions[name] = MethodDescription(name: name, kind: .unary)
    }

    /// Registers a handler that sees the whole request (payload and metadata) and returns the
    /// whole reply, trailing metadata included. Each request runs as its own task.
    ///
    /// ```swift
    /// handlers.registerWithMetadata("kv.get") { request, context in
    ///     var reply = MeshReply(payload: store[request.payload] ?? [])
    ///     reply.metadata["served-by"] = "kv-1"
    ///     return reply
    /// }
    /// ```
    public mutating func registerWithMetadata(_ name: String, _ handler: @escaping FullHandler) {
        precondition(Header.isValidName(name), "handler name must be 1 to 255 bytes of UTF-8 without control characters: \(name)")
        handlers[name] = .concurrent(handler)
        descriptions[name] = MethodDescription(name: name, kind: .unary)
    }

    /// Registers a synchronous handler that runs on the node's I/O thread as soon as its
    /// request arrives: no task, no thread hand-off, the fastest path (the built-in `echo`
    /// and `kv` use it).
    ///
    /// The handler must return quickly and never block: while it runs, the node receives,
    /// replies and heartbeats nothing. Use ``register(_:_:)-(String,_)`` for anything that waits or
    /// computes for more than a few microseconds.
    public mutating func registerInline(_ name: String, _ handler: @escaping InlineHandler) {
        precondition(Header.isValidName(name), "handler name must be 1 to 255 bytes of UTF-8 without control characters: \(name)")
        handlers[name] = .inline(handler)
        descriptions[name] = MethodDescription(name: name, kind: .unary)
    }

    /// Registers a typed handler: its request is decoded and its reply encoded with `codec`
    /// (JSON by default). A body that does not decode answers ``MeshError/Code/badRequest``.
    public mutating func register<Request: Decodable & Sendable, Reply: Encodable & Sendable>(
        _ name: String,
        codec: some MeshCodec = JSONMeshCodec(),
        _ handler: @escaping @Sendable (_ request: Request, _ context: RequestContext) async throws -> Reply
    ) {
        register(name) { payload, context in
            let request: Request
            do {
                request = try codec.decode(Request.self, from: payload)
            } catch {
                throw BadRequest(message: "cannot decode \(Request.self): \(error)")
            }
            return try codec.encode(try await handler(request, context))
        }
        descriptions[name] = MethodDescription(name: name, kind: .unary, request: MethodDescription.typeName(Request.self),
                                               reply: MethodDescription.typeName(Reply.self))
    }

    /// Registers the handler of a declared method (see ``MeshMethod``): its name, types and
    /// codec come from the declaration its callers use too. Each request runs as its own task;
    /// a body that does not decode answers ``MeshError/Code/badRequest``.
    ///
    /// ```swift
    /// handlers.register(Greeter.hello) { request, context in
    ///     HelloReply(message: "Hello, \(request.name)!")
    /// }
    /// ```
    public mutating func register<Request, Reply>(
        _ method: MeshMethod<Request, Reply>,
        _ handler: @escaping @Sendable (_ request: Request, _ context: RequestContext) async throws -> Reply
    ) {
        register(method.name, codec: method.codec, handler)
    }

    /// The kind of the handler registered as `method` (a name ``handler(for:)`` returned).
    func kind(ofRegistered method: String) -> MethodKind { descriptions[method]?.kind ?? .unary }

    /// Sets what `mesh.describe` says of a registered name.
    mutating func describe(_ description: MethodDescription) {
        descriptions[description.name] = description
    }

    /// Adds every handler of `other`, replacing same-named ones.
    public mutating func merge(_ other: ServiceHandlers) {
        handlers.merge(other.handlers) { _, new in new }
        descriptions.merge(other.descriptions) { _, new in new }
    }

    /// The names registered.
    public var names: [String] { handlers.keys.sorted() }

    /// Every registered method as `mesh.describe` tells it, by name.
    public var methods: [MethodDescription] {
        names.map { descriptions[$0] ?? MethodDescription(name: $0, kind: .unary) }
    }

    /// The services these handlers make up: the part of each name before the first dot.
    public var services: [String] {
        Set(handlers.keys.map { ServiceHandlers.serviceName(of: $0) }).sorted()
    }

    /// The handler for a called name, and the name it is registered under: exact match
    /// first, then its service.
    func handler(for name: String) -> (method: String, handler: Handler)? {
        if let exact = handlers[name] { return (name, exact) }
        let service = ServiceHandlers.serviceName(of: name)
        return handlers[service].map { (service, $0) }
    }

    /// These handlers with `interceptors` around each, first one outermost. Inline handlers
    /// become tasks on the node's loop: interceptors may await.
    func intercepted(by interceptors: [any ServerInterceptor]) -> ServiceHandlers {
        guard !interceptors.isEmpty else { return self }
        var wrapped = ServiceHandlers()
        wrapped.descriptions = descriptions
        for (name, handler) in handlers {
            switch handler {
            case .concurrent(let full), .loopTask(let full):
                wrapped.handlers[name] = .concurrent(Self.chain(interceptors[...], around: full))
            case .inline(let inline):
                let full: FullHandler = { request, context in MeshReply(payload: try inline(request.payload, context)) }
                wrapped.handlers[name] = .loopTask(Self.chain(interceptors[...], around: full))
            }
        }
        return wrapped
    }

    private static func chain(_ interceptors: ArraySlice<any ServerInterceptor>, around handler: @escaping FullHandler) -> FullHandler {
        guard let first = interceptors.first else {
            // The innermost step: the handler sees the metadata the interceptors left.
            return { request, context in
                var context = context
                context.metadata = request.metadata
                return try await handler(request, context)
            }
        }
        let rest = chain(interceptors.dropFirst(), around: handler)
        return { request, context in try await first.intercept(request, context: context, next: rest) }
    }

    /// The registered name whose handler answers a called name (`kv.get` for `kv.get`, `echo`
    /// for `echo.anything` when only `echo` is registered); nil if none does.
    func registeredName(for name: String) -> String? {
        if handlers[name] != nil { return name }
        let service = ServiceHandlers.serviceName(of: name)
        return handlers[service] != nil ? service : nil
    }

    /// `get` for `kv.get`; `echo` for `echo`: the method part of a name, as metrics and spans
    /// label it.
    static func methodName(of name: String) -> String {
        guard let dot = name.firstIndex(of: ".") else { return name }
        return String(name[name.index(after: dot)...])
    }

    /// `kv` for `kv.get`; `echo` for `echo`.
    static func serviceName(of name: String) -> String {
        if let dot = name.firstIndex(of: ".") { return String(name[..<dot]) }
        return name
    }
}

/// A request body the typed handler's codec could not decode.
struct BadRequest: Error {
    let message: String
}
