import Foundation
import ZMesh

/// A failed call as `--json` prints it: one JSON object on one line of standard error, for
/// scripts that would rather parse than match text.
///
///     {"code":"notFound","exit":8,"mayHaveRun":false,"message":"no handler for nope","service":"nope"}
///
/// `applicationCode` is there only for `application` errors (the handler's `ServiceError`).
struct ErrorReport: Encodable, Equatable {
    /// The `MeshError.Code` raw value: `timeout`, `unavailable`, `application`, ...
    let code: String
    /// The process's exit code for this kind of error (README's table).
    let exit: Int32
    /// What went wrong, as the error says it.
    let message: String
    /// The name that was called.
    let service: String
    /// The handler's code, for `application` errors only.
    let applicationCode: UInt16?
    /// Whether the request may have run before the call failed (a retry could run it twice).
    let mayHaveRun: Bool

    init(_ error: MeshError) {
        code = error.code.rawValue
        exit = ExitCodes.code(for: error.code)
        message = error.message
        service = error.service
        applicationCode = error.applicationCode
        mayHaveRun = error.mayHaveRun
    }

    /// The report as one line of JSON, keys sorted.
    var line: String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        guard let data = try? encoder.encode(self) else { return #"{"code":"\#(code)","exit":\#(exit)}"# }
        return String(decoding: data, as: UTF8.self)
    }
}
