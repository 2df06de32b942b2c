extension ClientCore {
    /// Starts stream `seq`, as ``MeshClient/stream(_:_:options:)`` does: its messages go to
    /// `messages`; `window` is the initial credit. From any thread.
    nonisolated func stream(_ name: String, _ payload: [UInt8], metadata: Metadata, options: CallOptions, window: Int,
                            sequence seq: UInt64, messages: AsyncThrowingStream<[UInt8], any Error>.Continuation) {
        guard Header.isValidName(name) else {
            messages.finish(throwing: MeshError(.badRequest, service: name, message: "a name must be 1 to 255 bytes of UTF-8 without control characters"))
            return
        }
        if !metadata.isEmpty, let problem = metadata.problem(under: configuration.metadataLimits) {
            messages.finish(throwing: MeshError(.badRequest, service: name, message: "\(problem); the stream was not started"))
            return
        }
        let request = CallRequest(stream: messages, window: window, name: name, payload: payload, timeout: options.timeout,
                                  idempotent: options.idempotent, maxAttempts: options.maxAttempts, metadata: metadata,
                                  now: transport.now())
        transport.execute { self.assumeIsolated { $0.start(seq, request) } }
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
