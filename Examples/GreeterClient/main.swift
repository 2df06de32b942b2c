// A client of the Greeter service: calls it by name through whatever the topology file says.
//
//   GreeterClient topologies/greeter.yaml Ada
//   GreeterClient topologies/greeter.yaml Ada 3                      (then a countdown from 3, streamed)
//   GREETER_TOKEN=s3cret GreeterClient topologies/greeter.yaml Ada   (sends the token)
import Foundation
import GreeterAPI
import Logging
import ZMesh

let arguments = CommandLine.arguments.dropFirst()
let config = arguments.first ?? "topologies/greeter.yaml"
let name = arguments.dropFirst().first ?? "world"
let countdown = arguments.dropFirst(2).first.flatMap { Int($0) }

let token = ProcessInfo.processInfo.environment["GREETER_TOKEN"] ?? ""
let client = try MeshClient(topology: try Topology.load(path: config), logger: Logger(label: "greeter-client")) { configuration in
    // Interceptors run around every call: here, one that adds the bearer token.
    if !token.isEmpty { configuration.interceptors = [BearerTokenClientInterceptor(token: token)] }
}
do {
    let reply = try await client.call(Greeter.hello, HelloRequest(name: name))
    print("\(reply.message) (from \(reply.servedBy))")
} catch {
    // Every failure is a MeshError: .timeout, .unavailable, .application (with its code), ...
    print("greeter.hello failed: \(error)")
}
if let countdown {
    do {
        // A server stream: ticks arrive in order, as the service writes them.
        for try await tick in client.stream(Greeter.countdown, CountdownRequest(from: countdown)) {
            print("\(tick.left) (from \(tick.servedBy))")
        }
    } catch {
        print("greeter.countdown failed: \(error)")
    }
}
await client.shutdown()
