extension MDP {
    /// An MDP client's REQUEST, found in its frames (routing id first).
    struct ClientRequest: Equatable {
        /// The dialect it was sent in, and will be answered in.
        let dialect: Dialect
        /// The service it asks for.
        let service: String
        /// The index of its first body frame; it has at least one.
        let bodyStart: Int
    }

    /// A command from a worker, found in its frames (routing id first).
    struct WorkerMessage: Equatable {
        /// The dialect it was sent in.
        let dialect: Dialect
        /// What it is.
        let command: WorkerCommand
        /// The index of the first frame after the command frame (READY's service, PARTIAL's and
        /// FINAL's client address); the frame count when there is none.
        let rest: Int
    }

    /// Whether a front-end message is Majordomo rather than native: `MDPC02` right after the
    /// routing id (RFC 18), or an empty frame and then `MDPC01` (RFC 7) or `MDPC02` (majortomo).
    /// A native message has an empty frame and then a header starting "ZM", or more routing ids.
    static func isClientMessage<Frames: FrameSource>(_ frames: Frames) -> Bool {
        guard frames.frameCount >= 2 else { return false }
        if frames.frameSize(1) == 0 {
            return frames.frameCount >= 3 && frames.withFrameBytes(2) { isClientProtocol($0) }
        }
        return frames.withFrameBytes(1) { $0.elementsEqual(clientProtocol) }
    }

    /// Decodes a client's REQUEST in any dialect. Fewer frames than a REQUEST has (a service
    /// and at least one body frame) is `missingHeader`; a client command that is not REQUEST
    /// is `unknownCommand` or `unexpectedCommand`; a service name that is not printable,
    /// `badName`; an empty frame and then `MDPC02` with RFC 18's REQUEST (0x01) fits no
    /// dialect: `unknownCommand`.
    static func clientRequest<Frames: FrameSource>(_ frames: Frames) -> Result<ClientRequest, MalformedReason> {
        guard frames.frameCount >= 2 else { return .failure(.missingHeader) }
        let dialect: Dialect
        if frames.frameSize(1) != 0 {
            guard frames.withFrameBytes(1, { $0.elementsEqual(clientProtocol) }) else { return .failure(.badSignature) }
            dialect = .rfc18
        } else {
            guard frames.frameCount >= 3 else { return .failure(.missingHeader) }
            if frames.withFrameBytes(2, { $0.elementsEqual(clientProtocol01) }) {
                dialect = .rfc7
            } else if frames.withFrameBytes(2, { $0.elementsEqual(clientProtocol) }) {
                dialect = .majortomo
            } else {
                return .failure(.badSignature)
            }
        }
        // The service frame: after the protocol frame, and its command frame if it has one.
        let serviceIndex = (dialect.leadingEmptyFrame ? 3 : 2) + (dialect.clientCode(.request) == nil ? 0 : 1)
        guard frames.frameCount >= serviceIndex + 2 else { return .failure(.missingHeader) }
        if let request = dialect.clientCode(.request) {
            let commandIndex = serviceIndex - 1
            guard frames.frameSize(commandIndex) == 1 else { return .failure(.unknownCommand) }
            let code = frames.withFrameBytes(commandIndex) { $0[0] }
            guard code == request else {
                let known = ClientCommand.allCases.contains { dialect.clientCode($0) == code }
                return .failure(known ? .unexpectedCommand : .unknownCommand)
            }
        }
        guard frames.frameSize(serviceIndex) <= 255, let service = serviceName(frames.frameArray(serviceIndex)) else {
            return .failure(.badName)
        }
        return .success(ClientRequest(dialect: dialect, service: service, bodyStart: serviceIndex + 1))
    }

    /// Decodes the protocol and command frames of a worker's message in any dialect: `MDPW02`
    /// right after the routing id (RFC 18), or an empty frame and `MDPW01` (RFC 7) or `MDPW02`
    /// (majortomo), then one command byte of that dialect. What follows is the caller's to
    /// check, per command.
    static func workerMessage<Frames: FrameSource>(_ frames: Frames) -> Result<WorkerMessage, MalformedReason> {
        guard frames.frameCount >= 3 else { return .failure(.badSignature) }
        let dialect: Dialect
        if frames.frameSize(1) != 0 {
            guard frames.withFrameBytes(1, { $0.elementsEqual(workerProtocol) }) else { return .failure(.badSignature) }
            dialect = .rfc18
        } else if frames.frameCount >= 4, frames.withFrameBytes(2, { $0.elementsEqual(workerProtocol01) }) {
            dialect = .rfc7
        } else if frames.frameCount >= 4, frames.withFrameBytes(2, { $0.elementsEqual(workerProtocol) }) {
            dialect = .majortomo
        } else {
            return .failure(.badSignature)
        }
        let commandIndex = dialect.leadingEmptyFrame ? 3 : 2
        guard frames.frameSize(commandIndex) == 1 else { return .failure(.badSignature) }
        guard let command = dialect.workerCommand(frames.withFrameBytes(commandIndex) { $0[0] }) else {
            return .failure(.unknownCommand)
        }
        return .success(WorkerMessage(dialect: dialect, command: command, rest: commandIndex + 1))
    }

    /// `MDPC01` or `MDPC02`.
    private static func isClientProtocol(_ bytes: UnsafeRawBufferPointer) -> Bool {
        bytes.count == 6 && (bytes.elementsEqual(clientProtocol) || bytes.elementsEqual(clientProtocol01))
    }
}
