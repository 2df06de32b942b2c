import Testing
@testable import ZMesh
import ZMeshTestSupport

/// Metadata and interceptors across roles on the in-process transport: what a caller sends
/// reaches the handler, trailing metadata comes back (on replies and errors), brokers pass
/// it through, limits refuse what is too much, and interceptors run in order on both sides.
@Suite("In process: metadata and interceptors")
struct InProcessMetadataTests {
    /// A handler that answers with the request's `tenant` and sets trailing `served-by`.
    static func tenantHandlers(node: String) -> ServiceHandlers {
        var handlers = ServiceHandlers()
        handlers.registerWithMetadata("whoami") { request, context in
            var reply = MeshReply(payload: Array("\(context.metadata["tenant"] ?? "-")".utf8))
            reply.metadata["served-by"] = node
            #expect(request.metadata == context.metadata)
            return reply
        }
        handlers.register("fail") { _, context in
            throw ServiceError(code: 409, message: "conflict", metadata: ["retry-after": "2", "tenant": context.metadata["tenant"] ?? "-"])
        }
        return handlers
    }

    @Test func metadataReachesTheHandlerAndTrailingMetadataComesBack() async throws {
        let mesh = InProcessMesh()
        let calls = Calls()   // one numbering per client: request ids stay unique
        _ = try await mesh.service("a", Self.tenantHandlers(node: "a"))
        let client = await mesh.client(.endpoints(["inproc://a"]))
        var options = CallOptions()
        options.metadata["Tenant"] = "acme"   // stored lowercase
        let reply = try await calls.start(client, "whoami", request: MeshRequest(payload: []), options: options).value.get()
        #expect(String(decoding: reply.payload, as: UTF8.self) == "acme")
        #expect(reply.metadata["served-by"] == "a")
        #expect(reply.endpoint == "inproc://a")
        withExtendedLifetime(mesh) {}
    }

    @Test func anErrorCarriesTheHandlersTrailingMetadata() async throws {
        let mesh = InProcessMesh()
        let calls = Calls()   // one numbering per client: request ids stay unique
        _ = try await mesh.service("a", Self.tenantHandlers(node: "a"))
        let client = await mesh.client(.endpoints(["inproc://a"]))
        let result = await calls.start(client, "fail", request: MeshRequest(payload: [], metadata: ["tenant": "acme"])).value
        guard case .failure(let error) = result else { Issue.record("expected an error, got \(result)"); return }
        #expect(error.code == .application && error.applicationCode == 409)
        #expect(error.metadata["retry-after"] == "2")
        #expect(error.metadata["tenant"] == "acme")
        withExtendedLifetime(mesh) {}
    }

    @Test func aBrokerPassesMetadataThroughBothWays() async throws {
        let mesh = InProcessMesh()
        let calls = Calls()   // one numbering per client: request ids stay unique
        _ = try await mesh.registry()
        _ = try await mesh.service("a", Self.tenantHandlers(node: "a"), registries: ["inproc://registry"])
        let (broker, _) = try await mesh.broker()
        let client = await mesh.client(.brokers(["inproc://broker"]))
        var request = MeshRequest(payload: [])
        request.metadata["tenant"] = "globex"
        request.metadata.add("binary", [0, 255, 10, 13])
        let reply = try await calls.start(client, "whoami", request: request).value.get()
        #expect(String(decoding: reply.payload, as: UTF8.self) == "globex")
        #expect(reply.metadata["served-by"] == "a")
        #expect(reply.endpoint == "inproc://broker")
        #expect(await broker.snapshot().replies == 1)
        withExtendedLifetime(mesh) {}
    }

    @Test func metadataOverTheServicesLimitIsABadRequestThatDidNotRun() async throws {
        let mesh = InProcessMesh()
        let calls = Calls()   // one numbering per client: request ids stay unique
        let runs = Runs()
        _ = try await mesh.service("a", Runs.handlers("work", node: "a", runs: runs, holding: false)) {
            $0.metadataLimits = MetadataLimits(maxEntries: 2, maxBytes: 64)
        }
        let client = await mesh.client(.endpoints(["inproc://a"]))
        var tooMany = CallOptions()
        for key in ["a", "b", "c"] { tooMany.metadata[key] = "1" }
        let refused = await calls.start(client, "work", options: tooMany).value
        #expect(throws: MeshError.self) { try refused.get() }
        if case .failure(let error) = refused {
            #expect(error.code == .badRequest && !error.mayHaveRun)
            #expect(error.message.contains("3 entries; the limit is 2"))
        }
        var tooBig = CallOptions()
        tooBig.metadata["token"] = String(repeating: "x", count: 100)
        if case .failure(let error) = await calls.start(client, "work", options: tooBig).value {
            #expect(error.code == .badRequest && error.message.contains("the limit is 64"))
        } else { Issue.record("a 105-byte metadata went through a 64-byte limit") }
        #expect(await runs.runs.isEmpty)
        // Within the limits, the same client's calls run.
        var fine = CallOptions()
        fine.metadata["a"] = "1"
        #expect(try await calls.start(client, "work", "ok", options: fine).value.get() == "a:ok")
        withExtendedLifetime(mesh) {}
    }

    @Test func aClientRefusesToSendMetadataOverItsOwnLimitOrWithABadKey() async throws {
        let mesh = InProcessMesh()
        let calls = Calls()   // one numbering per client: request ids stay unique
        let runs = Runs()
        _ = try await mesh.service("a", Runs.handlers("work", node: "a", runs: runs, holding: false))
        let client = await mesh.client(.endpoints(["inproc://a"])) { $0.metadataLimits = MetadataLimits(maxEntries: 1) }
        var options = CallOptions()
        options.metadata = ["x": "1", "y": "2"]
        if case .failure(let error) = await calls.start(client, "work", options: options).value {
            #expect(error.code == .badRequest && error.message.contains("was not sent"))
        } else { Issue.record("the call went out over the client's limit") }
        options.metadata = ["bad key!": "1"]
        if case .failure(let error) = await calls.start(client, "work", options: options).value {
            #expect(error.code == .badRequest && error.message.contains("bad key!"))
        } else { Issue.record("a bad key went out") }
        #expect(await runs.runs.isEmpty)
        #expect(await client.snapshot().calls == 0)
        withExtendedLifetime(mesh) {}
    }

    /// Records the order it runs in, and tags requests and replies.
    struct Tagging: ClientInterceptor, ServerInterceptor {
        let tag: String

        init(_ tag: String) { self.tag = tag }

        func intercept(_ request: MeshRequest, context: ClientCallContext,
                       next: (MeshRequest, ClientCallContext) async throws(MeshError) -> MeshReply) async throws(MeshError) -> MeshReply {
            var request = request
            request.metadata.add("path", tag)
            var reply = try await next(request, context)
            reply.metadata.add("back", tag)
            return reply
        }

        func intercept(_ request: MeshRequest, context: RequestContext,
                       next: (MeshRequest, RequestContext) async throws -> MeshReply) async throws -> MeshReply {
            var request = request
            request.metadata.add("path", tag)
            var reply = try await next(request, context)
            reply.metadata.add("back", tag)
            return reply
        }
    }

    /// Refuses requests without the right token.
    struct RequireToken: ServerInterceptor {
        func intercept(_ request: MeshRequest, context: RequestContext,
                       next: (MeshRequest, RequestContext) async throws -> MeshReply) async throws -> MeshReply {
            guard request.metadata["authorization"] == "Bearer good" else {
                throw ServiceError(code: 401, message: "no valid token for \(context.method)")
            }
            return try await next(request, context)
        }
    }

    @Test func interceptorsRunInOrderOnBothSidesAndCanChangeMetadata() async throws {
        let mesh = InProcessMesh()
        let calls = Calls()   // one numbering per client: request ids stay unique
        var handlers = ServiceHandlers()
        // An inline handler: with interceptors set it runs as a task, through them.
        handlers.registerInline("path") { _, context in
            Array(context.metadata.values(for: "path").map { String(decoding: $0, as: UTF8.self) }.joined(separator: ">").utf8)
        }
        _ = try await mesh.service("a", handlers) { $0.interceptors = [Tagging("s1"), Tagging("s2")] }
        let client = await mesh.client(.endpoints(["inproc://a"])) { $0.interceptors = [Tagging("c1"), Tagging("c2")] }
        let reply = try await calls.start(client, "path", request: MeshRequest(payload: [])).value.get()
        #expect(String(decoding: reply.payload, as: UTF8.self) == "c1>c2>s1>s2")
        #expect(reply.metadata.values(for: "back").map { String(decoding: $0, as: UTF8.self) } == ["s2", "s1", "c2", "c1"])
        withExtendedLifetime(mesh) {}
    }

    @Test func aServerInterceptorCanRefuseACallBeforeTheHandlerRuns() async throws {
        let mesh = InProcessMesh()
        let calls = Calls()   // one numbering per client: request ids stay unique
        let runs = Runs()
        _ = try await mesh.service("a", Runs.handlers("work", node: "a", runs: runs, holding: false)) {
            $0.interceptors = [RequireToken()]
        }
        let client = await mesh.client(.endpoints(["inproc://a"]))
        var options = CallOptions()
        options.metadata["authorization"] = "Bearer bad"
        if case .failure(let error) = await calls.start(client, "work.x", options: options).value {
            #expect(error.code == .application && error.applicationCode == 401)
            #expect(error.message == "no valid token for work")
        } else { Issue.record("a call without a valid token ran") }
        #expect(await runs.runs.isEmpty)
        options.metadata["authorization"] = "Bearer good"
        #expect(try await calls.start(client, "work", "in", options: options).value.get() == "a:in")
        withExtendedLifetime(mesh) {}
    }
}
