import Yams

/// The `limits` section: what every node of the file lets a message carry.
extension TopologyParser {
    static let limitsKeys = ["metadata_entries", "metadata_bytes"]
    static let metadataEntriesRange = 0...MetadataLimits.ceiling.maxEntries
    static let metadataBytesRange = 0...MetadataLimits.ceiling.maxBytes

    func parseLimits(_ node: Node?) throws(TopologyError) -> MetadataLimits {
        var limits = MetadataLimits.default
        guard let section = try section(node, key: "limits", example: "{ metadata_entries: 64, metadata_bytes: 8192 }",
                                        allowed: Self.limitsKeys) else { return limits }
        if let value = section.value("metadata_entries"), !isNull(value) {
            limits.maxEntries = try integer(value, key: section.path("metadata_entries"), in: Self.metadataEntriesRange)
        }
        if let value = section.value("metadata_bytes"), !isNull(value) {
            limits.maxBytes = try integer(value, key: section.path("metadata_bytes"), in: Self.metadataBytesRange)
        }
        return limits
    }
}
