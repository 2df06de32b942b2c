import Foundation
import Testing
@testable import ZMesh
import ZMeshTestSupport

/// Methods declared once (`MeshMethod`) and used by both sides, and what nodes say of their
/// methods (`mesh.describe`).
@Suite("Typed methods and mesh.describe")
struct TypedMethodTests {
    struct Sum: Codable, Sendable { let numbers: [Int] }
    struct Total: Codable, Sendable { let total: Int }

    enum Calculator {
        static let add = MeshMethod<Sum, Total>("calc.add")
        static let runningTotals = MeshServerStreamingMethod<Sum, Total>("calc.running")
        static let sumAll = MeshClientStreamingMethod<Sum, Total>("calc.sum-all")
        static let doubles = MeshBidirectionalStreamingMethod<Total, Total>("calc.doubles")
    }

    private struct PassThrough: ServerInterceptor {
        func intercept(_ request: MeshRequest, context: RequestContext,
                       next: (MeshRequest, RequestContext) async throws -> MeshReply) async throws -> MeshReply {
            try await next(request, context)
        }
    }

    private var handlers: ServiceHandlers {
        var handlers = ServiceHandlers()
        handlers.register(Calculator.add) { request, _ in Total(total: request.numbers.reduce(0, +)) }
        handlers.register(Calculator.runningTotals) { request, _, writer in
            var total = 0
            for number in request.numbers {
                total += number
                try await writer.write(Total(total: total))
            }
        }
        handlers.register(Calculator.sumAll) { requests, _ in
            try await requests.reduce(into: Total(total: 0)) { $0 = Total(total: $0.total + $1.numbers.reduce(0, +)) }
        }
        handlers.register(Calculator.doubles) { requests, _, writer in
            for try await request in requests { try await writer.write(Total(total: request.total * 2)) }
        }
        handlers.register("echo") { payload, _ in payload }
        return handlers
    }

    private let typeScope = String(reflecting: TypedMethodTests.self)

    @Test func handlersDescribeEachMethodsKindAndTypes() {
        let add = MethodDescription(name: "calc.add", kind: .unary, request: "\(typeScope).Sum", reply: "\(typeScope).Total")
        let running = MethodDescription(name: "calc.running", kind: .serverStreaming, request: "\(typeScope).Sum",
                                        reply: "\(typeScope).Total")
        let echo = MethodDescription(name: "echo", kind: .unary)
        let doubles = MethodDescription(name: "calc.doubles", kind: .bidirectionalStreaming, request: "\(typeScope).Total",
                                        reply: "\(typeScope).Total")
        let sumAll = MethodDescription(name: "calc.sum-all", kind: .clientStreaming, request: "\(typeScope).Sum",
                                       reply: "\(typeScope).Total")
        #expect(handlers.methods == [add, doubles, running, sumAll, echo])
        #expect(Calculator.add.description == add)
        #expect(Calculator.runningTotals.description == running)
        // Interceptors and merges keep them.
        #expect(handlers.intercepted(by: [PassThrough()]).methods == [add, doubles, running, sumAll, echo])
        var merged = ServiceHandlers()
        merged.merge(handlers)
        #expect(merged.methods == [add, doubles, running, sumAll, echo])
    }

    @Test func aDeclaredMethodPairsItsHandlerAndItsCallersOverRealSockets() async throws {
        let (node, endpoint) = try await startTestNode(name: "calc-1", handlers: handlers)
        let client = try makeClient([endpoint])
        let total = try await client.call(Calculator.add, Sum(numbers: [1, 2, 39]))
        #expect(total.total == 42)
        var totals: [Int] = []
        for try await running in client.stream(Calculator.runningTotals, Sum(numbers: [1, 2, 39])) { totals.append(running.total) }
        #expect(totals == [1, 3, 42])
        let sum = try await client.clientStream(Calculator.sumAll) { writer in
            for numbers in [[1, 2], [3], [36]] { try await writer.write(Sum(numbers: numbers)) }
        }
        #expect(sum.total == 42)
        let doubled = try await client.bidirectionalStream(Calculator.doubles) { writer in
            for total in 1...3 { try await writer.write(Total(total: total)) }
        } replies: { replies in
            try await replies.reduce(into: [Int]()) { $0.append($1.total) }
        }
        #expect(doubled == [2, 4, 6])
        // The node says what it serves, types and all.
        let description = try await client.describeNode()
        #expect(description.role == "service")
        #expect(description.node == "calc-1")
        #expect(description.version == ZMeshVersion.current)
        #expect(description.methods == handlers.methods)
        // A caller with other types for the same name gets badRequest, not a wrong answer.
        let wrong = MeshMethod<Total, Sum>("calc.add")
        do {
            _ = try await client.call(wrong, Total(total: 1))
            Issue.record("a request of another type was answered")
        } catch {
            #expect(error.code == .badRequest)
        }
        await client.shutdown()
        await node.stop()
    }

    @Test func aRegistryDescribesWhatItAnswers() async throws {
        let registry = try RegistryNode(configuration: .init(name: "registry-1", bind: "tcp://127.0.0.1:*"), logger: testLogger)
        let endpoint = try await registry.start()
        let client = try makeClient([endpoint])
        let description = try await client.describeNode()
        #expect(description.role == "registry")
        #expect(description.methods.map(\.name) == ["mesh.lookup", "mesh.status", "mesh.health", "mesh.describe"])
        await client.shutdown()
        await registry.stop()
    }
}
