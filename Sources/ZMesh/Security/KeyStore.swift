import Foundation

/// CURVE key files in a directory: `NAME.key` (public and secret key, mode 0600) and
/// `NAME.pub` (public key only, safe to share). `zmesh keygen` writes them.
///
/// ```
/// # ZMesh CURVE key pair for echo-1. Secret: keep this file to echo-1 (mode 0600).
/// public-key = "rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7"
/// secret-key = "JTKVSB%%)wK0E.X)V>+}o?pNmC{O&4W4b!Ni{Lh6"
/// ```
public struct KeyStore: Sendable {
    /// The directory holding the key files.
    public let directory: String

    /// A key store over `directory` (`NAME.key` secret files, `NAME.pub` public ones).
    public init(directory: String) {
        self.directory = directory
    }

    /// The path of `name`'s secret key file.
    public func secretFile(_ name: String) -> String { "\(directory)/\(name).key" }
    /// The path of `name`'s public key file.
    public func publicFile(_ name: String) -> String { "\(directory)/\(name).pub" }

    /// `name`'s key pair, from `NAME.key`. Refuses a file others can read.
    public func keyPair(of name: String) throws(SecurityError) -> CurveKeyPair {
        let path = secretFile(name)
        let fields = try read(path)
        let mode = (try? FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? Int) ?? 0
        if mode & 0o077 != 0 {
            throw SecurityError("secret key file \(path) can be read by others (mode \(String(mode, radix: 8))): run chmod 600 \(path)")
        }
        guard let secret = fields["secret-key"], let derived = CurveKeyPair.publicKey(forSecret: secret) else {
            throw SecurityError("\(path) has no valid secret-key (40 Z85 characters)")
        }
        if let stated = fields["public-key"], stated != derived {
            throw SecurityError("\(path): its public-key does not belong to its secret-key")
        }
        return CurveKeyPair(publicKey: derived, secretKey: secret)
    }

    /// `name`'s public key, from `NAME.pub` (or `NAME.key` if only that exists).
    public func publicKey(of name: String) throws(SecurityError) -> String {
        let path = publicFile(name)
        if FileManager.default.fileExists(atPath: path) {
            guard let key = try read(path)["public-key"], CurveKeyPair.isValidKey(key) else {
                throw SecurityError("\(path) has no valid public-key (40 Z85 characters)")
            }
            return key
        }
        if FileManager.default.fileExists(atPath: secretFile(name)) { return try keyPair(of: name).publicKey }
        throw SecurityError("no key for \(name): expected \(path) (run zmesh keygen)")
    }

    /// True if `name` has a key pair here.
    public func hasKeyPair(_ name: String) -> Bool {
        FileManager.default.fileExists(atPath: secretFile(name))
    }

    /// Writes `name`'s key files: `NAME.key` with mode 0600, `NAME.pub` with mode 0644; the
    /// directory is made with mode 0700 if missing.
    public func write(_ pair: CurveKeyPair, for name: String) throws(SecurityError) {
        let manager = FileManager.default
        do {
            if !manager.fileExists(atPath: directory) {
                try manager.createDirectory(atPath: directory, withIntermediateDirectories: true,
                                            attributes: [.posixPermissions: 0o700])
            }
            let secret = """
                # ZMesh CURVE key pair for \(name). Secret: keep this file to \(name) (mode 0600).
                public-key = "\(pair.publicKey)"
                secret-key = "\(pair.secretKey)"

                """
            // Create with 0600 before writing the secret, so it is never readable by others.
            let path = secretFile(name)
            _ = manager.createFile(atPath: path, contents: nil, attributes: [.posixPermissions: 0o600])
            try manager.setAttributes([.posixPermissions: 0o600], ofItemAtPath: path)
            try Data(secret.utf8).write(to: URL(fileURLWithPath: path))
            let publicText = """
                # ZMesh CURVE public key for \(name). Share freely.
                public-key = "\(pair.publicKey)"

                """
            try Data(publicText.utf8).write(to: URL(fileURLWithPath: publicFile(name)))
            try manager.setAttributes([.posixPermissions: 0o644], ofItemAtPath: publicFile(name))
        } catch {
            throw SecurityError("cannot write keys for \(name) in \(directory): \(error.localizedDescription)")
        }
    }

    private func read(_ path: String) throws(SecurityError) -> [String: String] {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
            throw SecurityError("cannot read \(path) (run zmesh keygen to make keys)")
        }
        var fields: [String: String] = [:]
        for line in text.split(separator: "\n") {
            let trimmed = line.trimmingCharacters(in: .whitespaces)
            guard !trimmed.hasPrefix("#"), let equals = trimmed.firstIndex(of: "=") else { continue }
            let key = trimmed[..<equals].trimmingCharacters(in: .whitespaces)
            let value = trimmed[trimmed.index(after: equals)...].trimmingCharacters(in: .whitespaces)
                .trimmingCharacters(in: CharacterSet(charactersIn: "\""))
            fields[key] = value
        }
        return fields
    }
}

/// A security set-up that cannot work: a missing or unreadable key, a bad file mode.
public struct SecurityError: Error, Sendable, CustomStringConvertible {
    /// What is wrong, in one line.
    public let description: String
    /// An error that says `description`.
    public init(_ description: String) { self.description = description }
}
