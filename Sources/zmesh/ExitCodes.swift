import ArgumentParser
import ZMesh

/// One exit code per kind of failure, so scripts can tell them apart.
enum ExitCodes {
    static func code(for error: MeshError.Code) -> Int32 {
        switch error {
        case .timeout: 3
        case .unavailable: 4
        case .overloaded: 5
        case .cancelled: 6
        case .application: 7
        case .notFound: 8
        case .badRequest: 9
        case .internalError: 10
        case .protocolError: 11
        case .forbidden: 12
        case .closed: 13
        }
    }

    /// `zmesh ping`: the node answered, but it is draining.
    static let draining: Int32 = 14

    /// A bad topology file or other configuration (sysexits' EX_CONFIG).
    static let configuration: Int32 = 78

    static var table: String {
        MeshError.Code.allCases.map { "\(code(for: $0)) \($0.rawValue)" }.joined(separator: ", ")
            + ", \(draining) draining (zmesh ping), \(configuration) configuration error, 64 usage error."
    }
}

/// Prints a mesh error as one line on stderr (as one JSON object with `json`, see
/// ``ErrorReport``) and exits with its code.
func failure(_ error: MeshError, json: Bool = false) -> ExitCode {
    printError(json ? ErrorReport(error).line : "zmesh: \(error)")
    return ExitCode(ExitCodes.code(for: error.code))
}

extension Topology {
    /// The client key pair `key` names (else `$ZMESH_CLIENT_KEY`, else the file's first
    /// client) with CURVE on, nil with it off; a bad one prints why and exits 78.
    func commandLineCurve(key: String?) throws -> CurveSettings? {
        do {
            return try curveSettings(forClient: key ?? ProcessInfo.processInfo.environment["ZMESH_CLIENT_KEY"])
        } catch {
            printError("zmesh: \(error)")
            throw ExitCode(ExitCodes.configuration)
        }
    }
}

func printError(_ line: String) {
    var stderr = StandardError()
    print(line, to: &stderr)
}

struct StandardError: TextOutputStream {
    mutating func write(_ string: String) {
        FileHandleOutput.write(string, to: 2)
    }
}

import Foundation

enum FileHandleOutput {
    static func write(_ string: String, to fd: Int32) {
        let data = Array(string.utf8)
        data.withUnsafeBytes { bytes in
            var offset = 0
            while offset < bytes.count {
                let written = Foundation.write(fd, bytes.baseAddress! + offset, bytes.count - offset)
                if written <= 0 { break }
                offset += written
            }
        }
    }
}
