extension ClientCore {
    /// Refuses a name or metadata no call could send (`what`: "call" or "stream", for the
    /// message). From any thread.
    nonisolated func checkStart(_ name: String, metadata: Metadata, what: String = "stream") throws(MeshError) {
        guard Header.isValidName(name) else {
            throw MeshError(.badRequest, service: name, message: "a name must be 1 to 255 bytes of UTF-8 without control characters")
        }
        if !metadata.isEmpty, let problem = metadata.problem(under: configuration.metadataLimits) {
            throw MeshError(.badRequest, service: name, message: "\(problem); the \(what) was not sent")
        }
    }

    /// Starts stream `seq`, as ``MeshClient/stream(_:_:options:)`` does: its messages go to
    /// `messages`; `window` is the initial credit. From any thread.
    nonisolated func stream(_ name: String, _ payload: [UInt8], metadata: Metadata, options: CallOptions, window: Int,
                            sequence seq: UInt64, messages: StreamChunks.Continuation, ending: ClientStreamEnding?) {
        do {
            try checkStart(name, metadata: metadata)
        } catch {
            return messages.finish(throwing: error)
        }
        var request = CallRequest(stream: messages, window: window, name: name, payload: payload, timeout: options.timeout,
                                  idempotent: options.idempotent, maxAttempts: options.maxAttempts, metadata: metadata,
                                  now: transport.now())
        if let ending { request.sentTo = { ending.reached($0) } }
        let started = request
        transport.execute { self.assumeIsolated { $0.start(seq, started) } }
    }

    /// Starts call `seq` whose request is a stream of messages (a client stream, or with
    /// `messages` a bidirectional one), as ``MeshClient/clientStream(_:options:requests:)``
    /// does. From any thread.
    nonisolated func startRequestStream(_ name: String, metadata: Metadata, options: CallOptions, sequence seq: UInt64,
                                        completion: CallRequest.Completion, window: Int, ending: ClientStreamEnding?) {
        var request = CallRequest(completion: completion, name: name, payload: [], timeout: options.timeout,
                                  idempotent: options.idempotent, maxAttempts: options.maxAttempts, metadata: metadata,
                                  now: transport.now())
        if case .stream(let messages) = completion {
            request = CallRequest(stream: messages, window: window, name: name, payload: [], timeout: options.timeout,
                                  idempotent: options.idempotent, maxAttempts: options.maxAttempts, metadata: metadata,
                                  now: transport.now())
        }
        request.sendsRequests = true
        if let ending { request.sentTo = { ending.reached($0) } }
        let started = request
        transport.execute { self.assumeIsolated { $0.start(seq, started) } }
    }

    /// Writes one message of call `seq`'s request stream: returns once it is sent, after
    /// waiting for the service's credit. From any thread.
    nonisolated func writePart(_ seq: UInt64, _ payload: [UInt8]) async throws {
        try await withCheckedThrowingContinuation { (continuation: RequestWriteWaiter) in
            transport.execute {
                self.assumeIsolated { core in
                    var output = Output(core: core)
                    core.table.writePart(seq, payload, continuation: continuation, output: &output)
                }
            }
        }
    }

    /// Call `seq`'s caller sent its last message. From any thread.
    nonisolated func endRequests(_ seq: UInt64) {
        transport.execute {
            self.assumeIsolated { core in
                var output = Output(core: core)
                core.table.endRequests(seq, output: &output)
            }
        }
    }

    /// The caller of stream `seq` read `count` more messages. From any thread.
    nonisolated func grant(_ seq: UInt64, _ count: Int) {
        transport.execute {
            self.assumeIsolated { core in
                var output = Output(core: core)
                core.table.grant(seq, count, output: &output)
            }
        }
    }

    /// The caller of stream `seq` stopped reading. From any thread.
    nonisolated func abandon(_ seq: UInt64) {
        transport.execute { self.assumeIsolated { $0.cancel(seq) } }
    }
}
