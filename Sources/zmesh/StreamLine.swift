import Foundation

/// A stream's message as `zmesh call --stream --json` prints it: one JSON object a line,
/// `{"message":"TEXT"}`, or `{"message_base64":"..."}` when the bytes are not UTF-8.
enum StreamLine {
    private struct Text: Encodable { let message: String }
    private struct Binary: Encodable { let message_base64: String }

    private static let encoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return encoder
    }()

    static func json(_ message: [UInt8]) -> [UInt8] {
        let encoded: Data?
        if let text = String(validating: message, as: UTF8.self) {
            encoded = try? encoder.encode(Text(message: text))
        } else {
            encoded = try? encoder.encode(Binary(message_base64: Data(message).base64EncodedString()))
        }
        return encoded.map { Array($0) } ?? Array(#"{"message_base64":""}"#.utf8)
    }
}
