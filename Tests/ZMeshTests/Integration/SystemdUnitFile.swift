import Foundation

/// A systemd unit file read the way systemd reads the parts deploy/systemd uses: sections,
/// `Key=value` lines (comments and blank lines skipped), command lines split into words
/// (single and double quotes group), `%i` and `%%` specifiers, `${NAME}` and `$NAME`
/// variables from an environment file, and `$$` for a literal dollar.
struct SystemdUnitFile {
    /// `section -> key -> values` in file order (a key may repeat).
    let entries: [String: [String: [String]]]

    init(contentsOf path: String) throws {
        var entries: [String: [String: [String]]] = [:]
        var section = ""
        for raw in try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n", omittingEmptySubsequences: false) {
            let line = raw.trimmingCharacters(in: .whitespaces)
            if line.isEmpty || line.hasPrefix("#") || line.hasPrefix(";") { continue }
            if line.hasPrefix("["), line.hasSuffix("]") {
                section = String(line.dropFirst().dropLast())
                continue
            }
            guard let equals = line.firstIndex(of: "=") else { throw ProcessFailure("\(path): not Key=value: \(line)") }
            let key = line[..<equals].trimmingCharacters(in: .whitespaces)
            let value = line[line.index(after: equals)...].trimmingCharacters(in: .whitespaces)
            entries[section, default: [:]][key, default: []].append(value)
        }
        self.entries = entries
    }

    /// The last value of `key` in `section`.
    func value(_ key: String, in section: String = "Service") -> String? {
        entries[section]?[key]?.last
    }

    /// A time span such as `30`, `30s` or `1min 30s`, as systemd reads it.
    static func seconds(_ text: String) -> Double? {
        var total = 0.0
        for part in text.split(separator: " ") {
            let digits = part.prefix { $0.isNumber || $0 == "." }
            guard let number = Double(digits) else { return nil }
            switch part.dropFirst(digits.count) {
            case "", "s", "sec": total += number
            case "ms", "msec": total += number / 1_000
            case "m", "min": total += number * 60
            default: return nil
            }
        }
        return total
    }

    /// An `EnvironmentFile=`'s variables: `NAME=value` lines, comments skipped, quotes removed.
    static func environment(contentsOf path: String) throws -> [String: String] {
        var variables: [String: String] = [:]
        for raw in try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n") {
            let line = raw.trimmingCharacters(in: .whitespaces)
            if line.isEmpty || line.hasPrefix("#") || line.hasPrefix(";") { continue }
            guard let equals = line.firstIndex(of: "=") else { throw ProcessFailure("\(path): not NAME=value: \(line)") }
            var value = line[line.index(after: equals)...].trimmingCharacters(in: .whitespaces)
            if value.count >= 2, let first = value.first, first == "\"" || first == "'", value.last == first {
                value = String(value.dropFirst().dropLast())
            }
            variables[line[..<equals].trimmingCharacters(in: .whitespaces)] = value
        }
        return variables
    }

    /// A command line (`ExecStart=`'s value) as the words systemd would exec for `instance`
    /// with `environment`.
    static func command(_ line: String, instance: String, environment: [String: String]) throws -> [String] {
        try words(line).flatMap { word -> [String] in
            let specified = try specifiers(word, instance: instance)
            // `$NAME` alone is split at whitespace; `${NAME}` anywhere is one word.
            if specified.hasPrefix("$"), !specified.hasPrefix("$$"), !specified.hasPrefix("${") {
                let name = String(specified.dropFirst())
                if name.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "_" }) {
                    return (environment[name] ?? "").split(separator: " ").map(String.init)
                }
            }
            return [variables(specified, environment: environment)]
        }
    }

    /// Splits at unquoted whitespace; quotes group and are removed.
    static func words(_ line: String) throws -> [String] {
        var words: [String] = []
        var current = ""
        var inWord = false
        var quote: Character?
        for character in line {
            if let open = quote {
                if character == open { quote = nil } else { current.append(character) }
            } else if character == "\"" || character == "'" {
                quote = character
                inWord = true
            } else if character == " " || character == "\t" {
                if inWord { words.append(current) }
                current = ""
                inWord = false
            } else {
                current.append(character)
                inWord = true
            }
        }
        guard quote == nil else { throw ProcessFailure("unterminated quote in: \(line)") }
        if inWord { words.append(current) }
        return words
    }

    private static func specifiers(_ word: String, instance: String) throws -> String {
        var result = ""
        var iterator = word.makeIterator()
        while let character = iterator.next() {
            guard character == "%" else { result.append(character); continue }
            switch iterator.next() {
            case "i": result += instance
            case "%": result += "%"
            case let other: throw ProcessFailure("specifier %\(other.map(String.init) ?? "") is not one this test knows")
            }
        }
        return result
    }

    private static func variables(_ word: String, environment: [String: String]) -> String {
        var result = ""
        var rest = Substring(word)
        while let dollar = rest.firstIndex(of: "$") {
            result += rest[..<dollar]
            let after = rest[rest.index(after: dollar)...]
            if after.hasPrefix("$") {
                result += "$"
                rest = after.dropFirst()
            } else if after.hasPrefix("{"), let close = after.firstIndex(of: "}") {
                result += environment[String(after[after.index(after: after.startIndex)..<close])] ?? ""
                rest = after[after.index(after: close)...]
            } else {
                result += "$"
                rest = after
            }
        }
        return result + rest
    }
}
