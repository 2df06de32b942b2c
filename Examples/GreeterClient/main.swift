// A client of the Greeter service: calls it by name through whatever the topology file says.
//
//   GreeterClient topologies/greeter.yaml Ada
import GreeterAPI
import Logging
import ZMesh

let arguments = CommandLine.arguments.dropFirst()
let config = arguments.first ?? "topologies/greeter.yaml"
let name = arguments.dropFirst().first ?? "world"

let client = try MeshClient(topology: try Topology.load(path: config), logger: Logger(label: "greeter-client"))
do {
    let reply: HelloReply = try await client.call("greeter.hello", HelloRequest(name: name))
    print("\(reply.message) (from \(reply.servedBy))")
} catch {
    // Every failure is a MeshError: .timeout, .unavailable, .application (with its code), ...
    print("greeter.hello failed: \(error)")
}
await client.shutdown()
