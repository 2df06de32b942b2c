/// The one compact binary header frame every mesh message carries. Layout in docs/PROTOCOL.md:
///
/// ```
/// offset size field
///  0     2    signature "ZM"
///  2     1    version (1)
///  3     1    command
///  4     1    flags: bit 0 idempotent, bit 1 trace id present, bit 2 may-have-run (ERROR),
///                    bit 3 retry-elsewhere (ERROR), bit 4 accepts-partials (REQUEST),
///                    bit 5 partial (REPLY, PART; REQUEST: its messages follow as PARTs),
///                    bit 6 metadata present, bit 7 batch (REQUEST: takes batched
///                    stream messages; partial REPLY: its body is a batch)
///  5     1    attempt (0 = first try)
///  6     2    status (ERROR), else 0; big-endian
///  8     8    request id: client, big-endian
/// 16     8    request id: sequence, big-endian
/// 24     4    time budget in ms, big-endian; 0xFFFFFFFF = none
/// 28     1    name length N
/// 29     N    name, UTF-8 (REQUEST: the called name, such as "kv.get")
/// 29+N  16    trace id, when flag bit 1 is set (retired: decoded, never sent)
/// then  2+M   metadata, when flag bit 6 is set: its length M, big-endian, then M bytes of
///             entries, each key length (1), key, value length (2, big-endian), value
/// ```
struct Header: Sendable, Equatable {
    static let signature: (UInt8, UInt8) = (0x5A, 0x4D)  // "ZM"
    static let version: UInt8 = 1
    static let fixedSize = 29
    static let traceIDSize = 16
    static let maxNameLength = 255
    /// The budget value meaning "no deadline".
    static let noBudget: UInt32 = .max

    struct Flags: OptionSet, Sendable, Equatable {
        let rawValue: UInt8
        static let idempotent = Flags(rawValue: 1 << 0)
        static let hasTraceID = Flags(rawValue: 1 << 1)
        /// ERROR only: the request may have run before the failure.
        static let mayHaveRun = Flags(rawValue: 1 << 2)
        /// ERROR only: this peer refused without running it (it is draining); another may take it.
        static let retryElsewhere = Flags(rawValue: 1 << 3)
        /// REQUEST only: the sender takes partial replies: a stream (a client's
        /// `MeshClient.stream`, whose header status is then its initial credit), or a broker
        /// forwarding an MDP client's request to another broker, so a Majordomo worker's
        /// PARTIALs stream through.
        static let acceptsPartials = Flags(rawValue: 1 << 4)
        /// REPLY: one part of the answer; more follow, the last one without this flag. Sent
        /// only to a requester that set `acceptsPartials`. PART: one request message; the
        /// last PART comes without it. REQUEST: the request is a stream: its messages follow
        /// as PARTs (a client or bidirectional stream).
        static let partial = Flags(rawValue: 1 << 5)
        /// Any command: a metadata block follows the name (and trace id).
        static let hasMetadata = Flags(rawValue: 1 << 6)
        /// REQUEST: the sender of a stream takes its messages in batches. Partial REPLY: the
        /// body is one frame of several messages (``StreamBatch``).
        static let batch = Flags(rawValue: 1 << 7)
    }

    var command: Command
    var flags: Flags = []
    var attempt: UInt8 = 0
    var status: UInt16 = 0
    var requestID: RequestID
    /// Milliseconds left of the caller's deadline when this message was sent; `noBudget` for none.
    var budgetMilliseconds: UInt32 = Header.noBudget
    /// REQUEST: the called name. Other commands may leave it empty.
    var name: String = ""
    /// A 16-byte trace id from a peer of ZMesh 0.11 or older: decoded, never sent (W3C
    /// `traceparent` metadata replaced it).
    var traceID: [UInt8]? = nil
    /// The message's metadata; empty for none (and then nothing of it is on the wire).
    var metadata = Metadata()

    var isIdempotent: Bool { flags.contains(.idempotent) }

    /// Encodes the header into one frame (the same bytes `withEncoded` hands over).
    func encoded() -> [UInt8] {
        withEncoded { Array($0) }
    }

    /// Encodes the header into a stack buffer and hands it to `body`: no allocation on the
    /// send path.
    @inline(__always)
    func withEncoded<Result>(_ body: (UnsafeRawBufferPointer) throws -> Result) rethrows -> Result {
        let nameLength = min(name.utf8.count, Self.maxNameLength)
        let metadataSize = metadataWireSize
        let size = Self.fixedSize + nameLength + (traceID == nil ? 0 : Self.traceIDSize) + metadataSize
        // The header goes in by pointer: a closure that captured `self` copied the header (a
        // retain and a release of its name and metadata) once or twice per message. Inlined
        // (`@inline(__always)`), the caller's header needs no copy to be pointed at: counted,
        // 4 retains fewer per reply on a service than the same code not inlined, and fewer
        // than the capturing closure inlined.
        return try withUnsafePointer(to: self) { header in
            try withUnsafeTemporaryAllocation(byteCount: size, alignment: 1) { buffer in
                header.pointee.encode(into: buffer, nameLength: nameLength, metadataSize: metadataSize)
                return try body(UnsafeRawBufferPointer(buffer))
            }
        }
    }

    /// Writes the header into `buffer`, exactly its encoded size (`nameLength` and
    /// `metadataSize` as `withEncoded` worked them out).
    private func encode(into buffer: UnsafeMutableRawBufferPointer, nameLength: Int, metadataSize: Int) {
        let nameBytes = name.utf8
        var flags = self.flags
        if traceID != nil { flags.insert(.hasTraceID) } else { flags.remove(.hasTraceID) }
        if metadataSize == 0 { flags.remove(.hasMetadata) } else { flags.insert(.hasMetadata) }
        buffer[0] = Self.signature.0
        buffer[1] = Self.signature.1
        buffer[2] = Self.version
        buffer[3] = command.rawValue
        buffer[4] = flags.rawValue
        buffer[5] = attempt
        buffer.storeBytes(of: status.bigEndian, toByteOffset: 6, as: UInt16.self)
        buffer.storeBytes(of: requestID.client.bigEndian, toByteOffset: 8, as: UInt64.self)
        buffer.storeBytes(of: requestID.sequence.bigEndian, toByteOffset: 16, as: UInt64.self)
        buffer.storeBytes(of: budgetMilliseconds.bigEndian, toByteOffset: 24, as: UInt32.self)
        buffer[28] = UInt8(nameLength)
        var offset = Self.fixedSize
        let copied: Void? = nameBytes.withContiguousStorageIfAvailable { bytes in
            UnsafeMutableRawBufferPointer(rebasing: buffer[offset..<(offset + nameLength)])
                .copyMemory(from: UnsafeRawBufferPointer(UnsafeBufferPointer(rebasing: bytes[..<nameLength])))
        }
        if copied == nil {   // a bridged or otherwise non-contiguous string: byte by byte
            for (position, byte) in nameBytes.prefix(nameLength).enumerated() { buffer[offset + position] = byte }
        }
        offset += nameLength
        if let traceID {
            for position in 0..<Self.traceIDSize {
                buffer[offset + position] = position < traceID.count ? traceID[position] : 0
            }
            offset += Self.traceIDSize
        }
        if metadataSize > 0 { encodeMetadata(into: UnsafeMutableRawBufferPointer(rebasing: buffer[offset...])) }
    }

    /// Decodes a header frame, checking every rule of the layout.
    static func decode(_ frame: [UInt8]) -> Result<Header, MalformedReason> {
        frame.withUnsafeBufferPointer { decode(UnsafeRawBufferPointer($0)) }
    }

    static func decode(_ bytes: UnsafeRawBufferPointer) -> Result<Header, MalformedReason> {
        guard bytes.count >= fixedSize else { return .failure(.headerTooShort) }
        guard bytes[0] == signature.0, bytes[1] == signature.1 else { return .failure(.badSignature) }
        guard bytes[2] == version else { return .failure(.unsupportedVersion) }
        guard let command = Command(rawValue: bytes[3]) else { return .failure(.unknownCommand) }
        let flags = Flags(rawValue: bytes[4])
        let nameLength = Int(bytes[28])
        let traceSize = flags.contains(.hasTraceID) ? traceIDSize : 0
        let metadataStart = fixedSize + nameLength + traceSize
        var metadataSize = 0
        if flags.contains(.hasMetadata) {
            guard bytes.count >= metadataStart + 2 else { return .failure(.headerTooShort) }
            metadataSize = 2 + Int(bytes.loadBigEndian(UInt16.self, at: metadataStart))
        }
        guard bytes.count == metadataStart + metadataSize else {
            return .failure(bytes.count < metadataStart + metadataSize ? .headerTooShort : .headerTrailingBytes)
        }
        let nameBytes = UnsafeRawBufferPointer(rebasing: bytes[fixedSize..<(fixedSize + nameLength)])
        guard let name = validName(nameBytes) else { return .failure(.badName) }
        if command == .request && name.isEmpty { return .failure(.badName) }
        var traceID: [UInt8]? = nil
        if traceSize > 0 {
            traceID = Array(bytes[(fixedSize + nameLength)..<(fixedSize + nameLength + traceSize)])
        }
        var metadata = Metadata()
        if metadataSize > 2 {
            guard let decoded = decodeMetadata(UnsafeRawBufferPointer(rebasing: bytes[(metadataStart + 2)...])) else {
                return .failure(.badMetadata)
            }
            metadata = decoded
        }
        return .success(Header(
            command: command,
            flags: flags,
            attempt: bytes[5],
            status: bytes.loadBigEndian(UInt16.self, at: 6),
            requestID: RequestID(client: bytes.loadBigEndian(UInt64.self, at: 8),
                                 sequence: bytes.loadBigEndian(UInt64.self, at: 16)),
            budgetMilliseconds: bytes.loadBigEndian(UInt32.self, at: 24),
            name: name,
            traceID: traceID,
            metadata: metadata))
    }

    /// UTF-8 without control characters, or nil.
    static func validName(_ bytes: UnsafeRawBufferPointer) -> String? {
        if bytes.isEmpty { return "" }
        var ascii = true
        for byte in bytes {
            if byte < 0x20 || byte == 0x7F { return nil }
            if byte >= 0x80 { ascii = false }
        }
        if ascii { return String(decoding: bytes, as: UTF8.self) }
        var decoded = ""
        var iterator = bytes.makeIterator()
        var decoder = UTF8()
        loop: while true {
            switch decoder.decode(&iterator) {
            case .scalarValue(let scalar): decoded.unicodeScalars.append(scalar)
            case .emptyInput: break loop
            case .error: return nil
            }
        }
        return decoded
    }

    /// True if `name` can travel in a header: 1 to 255 UTF-8 bytes, no control characters.
    static func isValidName(_ name: String) -> Bool {
        let bytes = name.utf8
        guard !bytes.isEmpty, bytes.count <= maxNameLength else { return false }
        return !bytes.contains { $0 < 0x20 || $0 == 0x7F }
    }
}

extension [UInt8] {
    @inline(__always)
    mutating func appendBigEndian<T: FixedWidthInteger>(_ value: T) {
        Swift.withUnsafeBytes(of: value.bigEndian) { append(contentsOf: $0) }
    }
}

extension UnsafeRawBufferPointer {
    @inline(__always)
    func loadBigEndian<T: FixedWidthInteger>(_ type: T.Type, at offset: Int) -> T {
        T(bigEndian: loadUnaligned(fromByteOffset: offset, as: T.self))
    }
}
