// A typed service of your own, run as a node of a topology file.
//
//   scripts/mesh-up.sh topologies/greeter.yaml    (runs this for greeter-1 and greeter-2)
//   GreeterService --node greeter-1 --config topologies/greeter.yaml
//   GREETER_TOKEN=s3cret scripts/mesh-up.sh topologies/greeter.yaml   (calls must carry the token)
import GreeterAPI
import Logging
import Foundation
import ServiceLifecycle
import ZMesh
import ZMeshBuiltins

// Text logs, or one JSON object per line (with trace_id in traced calls) as `zmesh node` writes
// them when ZMESH_LOG_FORMAT=json.
if ProcessInfo.processInfo.environment["ZMESH_LOG_FORMAT"]?.lowercased() == "json" {
    LoggingSystem.bootstrap { JSONLogHandler(label: $0) }
} else {
    LoggingSystem.bootstrap(StreamLogHandler.standardError)
}
let arguments = try MeshNode.Arguments(CommandLine.arguments)
let logger = Logger(label: "greeter")

var handlers = ServiceHandlers()
handlers.register(Greeter.hello) { request, context in
    guard !request.name.isEmpty else { throw ServiceError(code: 400, message: "say who to greet") }
    context.logger.debug("greeting", metadata: ["name": "\(request.name)"])
    return HelloReply(message: "Hello, \(request.name)!", servedBy: arguments.node)
}
// A server stream: each tick is written when the caller has room for it (flow control).
handlers.register(Greeter.countdown) { request, context, writer in
    guard (0...1_000).contains(request.from) else { throw ServiceError(code: 400, message: "count down from 0 to 1000") }
    for left in stride(from: request.from, through: 0, by: -1) {
        try await writer.write(CountdownTick(left: left, servedBy: arguments.node))
    }
}

let topology = try Topology.load(path: arguments.config)
// ReadyFile.announce writes the bound endpoint where scripts/mesh-up.sh waits for it.
// Interceptors run around every handler: here, a bearer token check when GREETER_TOKEN is set.
var interceptors: [any ServerInterceptor] = []
if let token = ProcessInfo.processInfo.environment["GREETER_TOKEN"], !token.isEmpty {
    interceptors.append(BearerTokenServerInterceptor(token: token))
}
let node = try MeshNode.make(named: arguments.node, in: topology, handlers: handlers, logger: logger,
                             onListening: ReadyFile.announce, interceptors: interceptors)
try await ServiceGroup(configuration: .init(services: [node], gracefulShutdownSignals: [.sigterm, .sigint],
                                            logger: logger)).run()
