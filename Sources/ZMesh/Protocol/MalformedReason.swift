/// Why an inbound message was dropped as malformed. Each reason has its own counter.
enum MalformedReason: String, Error, Sendable, CaseIterable {
    /// No empty delimiter frame between routing ids and header.
    case missingDelimiter = "missing_delimiter"
    /// More routing hops than a mesh path can have.
    case tooManyHops = "too_many_hops"
    /// No header frame after the delimiter.
    case missingHeader = "missing_header"
    /// The header frame is shorter than its fields say.
    case headerTooShort = "header_too_short"
    /// The header frame is longer than its fields say.
    case headerTrailingBytes = "header_trailing_bytes"
    /// The header does not start with "ZM".
    case badSignature = "bad_signature"
    /// A protocol version this node does not speak.
    case unsupportedVersion = "unsupported_version"
    /// A command byte this node does not know.
    case unknownCommand = "unknown_command"
    /// The name is not valid UTF-8, has control characters, or is empty on a REQUEST.
    case badName = "bad_name"
    /// A metadata block whose entries do not add up to its length, or with a key that is not
    /// 1 to 255 lowercase ASCII letters, digits, `-`, `_` or `.`.
    case badMetadata = "bad_metadata"
    /// More body frames than allowed.
    case tooManyFrames = "too_many_frames"
    /// The message is larger than allowed.
    case tooLarge = "too_large"
    /// A command that makes no sense where it arrived (a REQUEST at a client, say).
    case unexpectedCommand = "unexpected_command"
    /// A body that does not decode (heartbeat, look-up).
    case badBody = "bad_body"
}
