import Foundation

/// Turns typed request and reply values into body bytes and back.
///
/// ``JSONMeshCodec`` is the default; supply your own (MessagePack, Protobuf...) by conforming.
public protocol MeshCodec: Sendable {
    /// Encodes a value into a body.
    func encode<T: Encodable>(_ value: T) throws -> [UInt8]
    /// Decodes a body into a value.
    func decode<T: Decodable>(_ type: T.Type, from bytes: [UInt8]) throws -> T
}

/// JSON bodies through Foundation's `JSONEncoder` and `JSONDecoder`.
public struct JSONMeshCodec: MeshCodec {
    /// A JSON codec (Foundation's encoder and decoder).
    public init() {}

    /// JSON bytes of `value`.
    public func encode<T: Encodable>(_ value: T) throws -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return Array(try encoder.encode(value))
    }

    /// A value of `type` decoded from JSON bytes.
    public func decode<T: Decodable>(_ type: T.Type, from bytes: [UInt8]) throws -> T {
        try JSONDecoder().decode(type, from: Data(bytes))
    }
}
