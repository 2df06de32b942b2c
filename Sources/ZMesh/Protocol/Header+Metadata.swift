/// The metadata block of a header (flag bit 6): `[length M: 2] [entries: M bytes]`, each entry
/// `[key length: 1] [key] [value length: 2] [value]`, lengths big-endian. docs/PROTOCOL.md.
extension Header {
    /// Bytes the block takes on the wire, length field included; 0 without metadata.
    var metadataWireSize: Int {
        guard !metadata.isEmpty else { return 0 }
        var size = 2
        for entry in metadata { size += 3 + min(entry.key.utf8.count, 255) + min(entry.value.count, Int(UInt16.max)) }
        return size
    }

    /// Writes the block into `buffer`, exactly `metadataWireSize` bytes. Keys and values too
    /// long for their length fields are cut (senders check ``Metadata/problem(under:)`` first).
    func encodeMetadata(into buffer: UnsafeMutableRawBufferPointer) {
        let length = UInt16(clamping: metadataWireSize - 2)
        buffer.storeBytes(of: length.bigEndian, toByteOffset: 0, as: UInt16.self)
        var offset = 2
        for entry in metadata {
            let key = entry.key.utf8.prefix(255)
            buffer[offset] = UInt8(key.count)
            offset += 1
            for byte in key {
                buffer[offset] = byte
                offset += 1
            }
            let value = entry.value.prefix(Int(UInt16.max))
            buffer.storeBytes(of: UInt16(value.count).bigEndian, toByteOffset: offset, as: UInt16.self)
            offset += 2
            if !value.isEmpty {
                value.withUnsafeBytes { source in
                    UnsafeMutableRawBufferPointer(rebasing: buffer[offset..<(offset + source.count)]).copyMemory(from: source)
                }
                offset += value.count
            }
        }
    }

    /// The entries of a block's body (after its length field), or nil if they do not fill it
    /// exactly or a key is not valid. At most 64 KiB to read: bounded whatever a peer sends.
    static func decodeMetadata(_ bytes: UnsafeRawBufferPointer) -> Metadata? {
        var metadata = Metadata()
        var offset = 0
        while offset < bytes.count {
            let keyLength = Int(bytes[offset])
            offset += 1
            guard keyLength > 0, offset + keyLength + 2 <= bytes.count else { return nil }
            let keyBytes = UnsafeRawBufferPointer(rebasing: bytes[offset..<(offset + keyLength)])
            guard keyBytes.allSatisfy(Metadata.isKeyByte) else { return nil }
            offset += keyLength
            let valueLength = Int(bytes.loadBigEndian(UInt16.self, at: offset))
            offset += 2
            guard offset + valueLength <= bytes.count else { return nil }
            metadata.appendDecoded(key: String(decoding: keyBytes, as: UTF8.self),
                                   value: Array(bytes[offset..<(offset + valueLength)]))
            offset += valueLength
        }
        return metadata
    }
}
