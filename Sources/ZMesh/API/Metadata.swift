/// Key/value pairs that travel beside a call's payload: on a request (an auth token, a tenant
/// id, a trace context) and on its reply or error ("trailing" metadata).
///
/// Keys are ASCII: letters, digits, `-`, `_` and `.`, 1 to 255 bytes. They are stored in
/// lowercase (`"Authorization"` and `"authorization"` are one key). Values are bytes; the
/// subscript by key reads and writes them as UTF-8 strings, `[bytes:]` as bytes. A key may
/// appear more than once: the subscripts read the first value and replace all of them.
///
/// ```swift
/// var options = CallOptions()
/// options.metadata["authorization"] = "Bearer s3cret"
/// let reply = try await client.call("kv.get", request: MeshRequest(payload: key), options: options)
/// let servedBy = reply.metadata["served-by"]
/// ```
///
/// What a call may carry is bounded (``MetadataLimits``): a request over the limits is
/// refused with ``MeshError/Code/badRequest``.
public struct Metadata: Sendable, Hashable, Sequence, ExpressibleByDictionaryLiteral {
    /// One key and one value.
    public struct Entry: Sendable, Hashable {
        /// The key, lowercase.
        public let key: String
        /// The value's bytes.
        public var value: [UInt8]

        /// UTF-8 of the value, if it is valid UTF-8.
        public var stringValue: String? { String(validating: value, as: UTF8.self) }
    }

    private(set) var entries: [Entry] = []

    /// No entries.
    public init() {}

    /// Entries with UTF-8 values, in order: `["tenant": "acme", "authorization": "Bearer x"]`.
    public init(dictionaryLiteral elements: (String, String)...) {
        for (key, value) in elements { add(key, value) }
    }

    /// Whether there are no entries.
    public var isEmpty: Bool { entries.isEmpty }
    /// The number of entries.
    public var count: Int { entries.count }

    /// The first value under `key` as UTF-8 (nil if absent or not UTF-8); setting replaces
    /// every value under it (nil removes them).
    public subscript(key: String) -> String? {
        get { self[bytes: key].flatMap { String(validating: $0, as: UTF8.self) } }
        set { self[bytes: key] = newValue.map { Array($0.utf8) } }
    }

    /// The first value under `key`, as bytes; setting replaces every value under it.
    public subscript(bytes key: String) -> [UInt8]? {
        get {
            let key = Self.normalized(key)
            return entries.first { $0.key == key }?.value
        }
        set {
            remove(key)
            if let newValue { add(key, newValue) }
        }
    }

    /// Every value under `key`, in order.
    public func values(for key: String) -> [[UInt8]] {
        let key = Self.normalized(key)
        return entries.filter { $0.key == key }.map(\.value)
    }

    /// Adds a value under `key`, after any already there.
    public mutating func add(_ key: String, _ value: [UInt8]) {
        entries.append(Entry(key: Self.normalized(key), value: value))
    }

    /// Adds a UTF-8 value under `key`, after any already there.
    public mutating func add(_ key: String, _ value: String) {
        add(key, Array(value.utf8))
    }

    /// Removes every value under `key`.
    public mutating func remove(_ key: String) {
        let key = Self.normalized(key)
        entries.removeAll { $0.key == key }
    }

    /// Adds every entry of `other`; its keys replace the same keys here.
    public mutating func merge(_ other: Metadata) {
        guard !other.isEmpty else { return }
        let replaced = Set(other.entries.map(\.key))
        entries.removeAll { replaced.contains($0.key) }
        entries.append(contentsOf: other.entries)
    }

    /// The entries in order.
    public func makeIterator() -> IndexingIterator<[Entry]> { entries.makeIterator() }

    /// Bytes of keys and values together: what ``MetadataLimits/maxBytes`` bounds.
    public var byteCount: Int { entries.reduce(0) { $0 + $1.key.utf8.count + $1.value.count } }

    /// Whether `key` may be sent: 1 to 255 bytes of ASCII letters, digits, `-`, `_` and `.`.
    public static func isValidKey(_ key: String) -> Bool {
        let bytes = key.utf8
        return !bytes.isEmpty && bytes.count <= 255 && bytes.allSatisfy(isKeyByte)
    }

    /// The first problem with sending this metadata under `limits`, or nil.
    public func problem(under limits: MetadataLimits) -> String? {
        if entries.count > limits.maxEntries {
            return "metadata has \(entries.count) entries; the limit is \(limits.maxEntries)"
        }
        if let bad = entries.first(where: { !Self.isValidKey($0.key) }) {
            return "metadata key \"\(bad.key)\" is not 1 to 255 ASCII letters, digits, '-', '_' or '.'"
        }
        let bytes = byteCount
        if bytes > limits.maxBytes { return "metadata has \(bytes) bytes of keys and values; the limit is \(limits.maxBytes)" }
        return nil
    }

    static func isKeyByte(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
             UInt8(ascii: "-"), UInt8(ascii: "_"), UInt8(ascii: "."): true
        default: false
        }
    }

    /// Keys are kept lowercase; only ASCII letters change.
    static func normalized(_ key: String) -> String {
        guard key.utf8.contains(where: { $0 >= UInt8(ascii: "A") && $0 <= UInt8(ascii: "Z") }) else { return key }
        return String(decoding: key.utf8.map { $0 >= UInt8(ascii: "A") && $0 <= UInt8(ascii: "Z") ? $0 + 32 : $0 }, as: UTF8.self)
    }

    /// An entry decoded off the wire: its key already checked.
    mutating func appendDecoded(key: String, value: [UInt8]) {
        entries.append(Entry(key: key, value: value))
    }
}

/// How much metadata one request or reply may carry. Set in a topology file under
/// `limits: { metadata_entries: 64, metadata_bytes: 8192 }` (docs/OPERATIONS.md); the same for
/// every node of the file.
public struct MetadataLimits: Sendable, Equatable {
    /// Most entries. Default 64; at most 255.
    public var maxEntries: Int
    /// Most bytes of keys and values together. Default 8 KiB; at most 64,000.
    public var maxBytes: Int

    /// The most a topology file may set: what the wire's 16-bit block length holds.
    public static let ceiling = MetadataLimits(maxEntries: 255, maxBytes: 64_000)
    /// 64 entries, 8 KiB.
    public static let `default` = MetadataLimits()

    /// Limits of `maxEntries` entries and `maxBytes` bytes, each capped at ``ceiling``.
    public init(maxEntries: Int = 64, maxBytes: Int = 8 * 1024) {
        self.maxEntries = min(max(0, maxEntries), 255)
        self.maxBytes = min(max(0, maxBytes), 64_000)
    }
}
