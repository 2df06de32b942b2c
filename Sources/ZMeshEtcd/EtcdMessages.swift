import Foundation

/// The v3 JSON gateway's messages, as etcd 3.4 writes them: keys and values base64, 64-bit
/// integers as strings.
enum EtcdMessages {
    struct Header: Decodable {
        let revision: EtcdInt?
    }

    struct KeyValue: Decodable {
        let key: String?
        let value: String?
        let modRevision: EtcdInt?
        let lease: EtcdInt?

        enum CodingKeys: String, CodingKey {
            case key, value, lease
            case modRevision = "mod_revision"
        }
    }

    struct LeaseGrant: Decodable {
        let header: Header?
        let ID: EtcdInt?
        let TTL: EtcdInt?
        let error: String?
    }

    struct KeepAlive: Decodable {
        struct Result: Decodable {
            let ID: EtcdInt?
            let TTL: EtcdInt?
        }
        let result: Result?
        let error: GatewayError?
    }

    struct Range: Decodable {
        let header: Header?
        let kvs: [KeyValue]?
    }

    struct Put: Decodable {
        let header: Header?
    }

    struct WatchLine: Decodable {
        struct Event: Decodable {
            let type: String?
            let kv: KeyValue?
        }
        struct Result: Decodable {
            let header: Header?
            let created: Bool?
            let canceled: Bool?
            let compactRevision: EtcdInt?
            let events: [Event]?

            enum CodingKeys: String, CodingKey {
                case header, created, canceled, events
                case compactRevision = "compact_revision"
            }
        }
        let result: Result?
        let error: GatewayError?
    }

    /// A gRPC error the gateway passes on.
    struct GatewayError: Decodable {
        let message: String?
        let grpcCode: Int?

        enum CodingKeys: String, CodingKey {
            case message
            case grpcCode = "grpc_code"
        }
    }
}

/// A 64-bit integer as the gateway writes it: a string of digits (or, rarely, a number).
struct EtcdInt: Decodable, Sendable {
    let value: Int64

    init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if let text = try? container.decode(String.self), let parsed = Int64(text) {
            value = parsed
        } else {
            value = try container.decode(Int64.self)
        }
    }
}

extension String {
    /// Base64 of the UTF-8 bytes, as etcd's JSON carries keys and values.
    var etcdBase64: String { Data(utf8).base64EncodedString() }

    /// The end of the key range that holds every key starting with this prefix: the prefix
    /// with its last byte incremented (etcd's `range_end`).
    var etcdPrefixEnd: String {
        var bytes = Array(utf8)
        while let last = bytes.last {
            if last < 0xFF {
                bytes[bytes.count - 1] = last + 1
                return Data(bytes).base64EncodedString()
            }
            bytes.removeLast()
        }
        return Data([0]).base64EncodedString()   // every key
    }
}
