// A typed service of your own, run as a node of a topology file, with the flags, signals and
// drain of `zmesh node` (NodeProgram, module ZMeshNodeProgram).
//
//   scripts/mesh-up.sh topologies/greeter.yaml    (runs this for greeter-1 and greeter-2)
//   GreeterService greeter-1 --config topologies/greeter.yaml      (or --node greeter-1)
//   GreeterService greeter-1 --config FILE --log-format json     (or ZMESH_LOG_FORMAT=json)
//   GREETER_TOKEN=s3cret scripts/mesh-up.sh topologies/greeter.yaml   (calls must carry the token)
//
// SIGTERM or SIGINT drains it: it leaves the registries, finishes the calls it holds, exits 0.
import Foundation
import GreeterAPI
import ZMesh
import ZMeshBuiltins
import ZMeshNodeProgram

await NodeProgram.run(label: "greeter") { node in
    let name = node.name
    var handlers = ServiceHandlers()
    handlers.register(Greeter.hello) { request, context in
        guard !request.name.isEmpty else { throw ServiceError(code: 400, message: "say who to greet") }
        context.logger.debug("greeting", metadata: ["name": "\(request.name)"])
        return HelloReply(message: "Hello, \(request.name)!", servedBy: name)
    }
    // A server stream: each tick is written when the caller has room for it (flow control).
    handlers.register(Greeter.countdown) { request, context, writer in
        guard (0...1_000).contains(request.from) else { throw ServiceError(code: 400, message: "count down from 0 to 1000") }
        for left in stride(from: request.from, through: 0, by: -1) {
            try await writer.write(CountdownTick(left: left, servedBy: name))
        }
    }
    // Interceptors run around every handler: here, a bearer token check when GREETER_TOKEN is set.
    var interceptors: [any ServerInterceptor] = []
    if let token = ProcessInfo.processInfo.environment["GREETER_TOKEN"], !token.isEmpty {
        interceptors.append(BearerTokenServerInterceptor(token: token))
    }
    // ReadyFile.announce writes the bound endpoint where scripts/mesh-up.sh waits for it.
    return [try MeshNode.make(named: name, in: node.topology, handlers: handlers, logger: node.logger,
                              onListening: ReadyFile.announce, interceptors: interceptors)]
}
