import Foundation

extension MeshClient {
    /// Calls a declared method (see ``MeshMethod``) with a typed request and decodes its typed
    /// reply, both through the method's codec: name and types are those its handler was
    /// registered with.
    ///
    /// ```swift
    /// let reply = try await client.call(Greeter.hello, HelloRequest(name: "Ada"))
    /// ```
    ///
    /// - Throws: ``MeshError`` as ``call(_:_:options:)-(String,_,_)`` does; ``MeshError/Code/badRequest``
    ///   if the request does not encode or the reply does not decode.
    public func call<Request, Reply>(
        _ method: MeshMethod<Request, Reply>, _ request: Request, options: CallOptions? = nil
    ) async throws(MeshError) -> Reply {
        try await call(method.name, request, returning: Reply.self, codec: method.codec, options: options)
    }

    /// Asks the node this client reaches (configure it with that node's endpoint) for its
    /// description: its role, name and methods (`mesh.describe`).
    public func describeNode(options: CallOptions? = nil) async throws(MeshError) -> NodeDescription {
        let body = try await call(NodeDescription.name, [], options: options)
        do {
            return try JSONDecoder().decode(NodeDescription.self, from: Data(body))
        } catch {
            throw MeshError(.badRequest, service: NodeDescription.name, message: "cannot decode the description: \(error)", mayHaveRun: true)
        }
    }
}
