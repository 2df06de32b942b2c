/// How a handler's run ended, as the reply it becomes.
enum HandlerOutcome: Sendable {
    case reply(MeshReply)
    case failure(status: UInt16, message: String, metadata: Metadata)

    static func failure(status: UInt16, message: String) -> HandlerOutcome {
        .failure(status: status, message: message, metadata: Metadata())
    }

    /// Runs `handler` and maps what it throws to an ERROR status.
    static func run(_ handler: ServiceHandlers.FullHandler, request: MeshRequest, context: RequestContext) async -> HandlerOutcome {
        do {
            return .reply(try await handler(request, context))
        } catch let error as ServiceError {
            return .failure(status: error.code, message: error.message, metadata: error.metadata)
        } catch let error as BadRequest {
            return .failure(status: StatusCode.badRequest.rawValue, message: error.message)
        } catch is CancellationError {
            return .failure(status: StatusCode.cancelled.rawValue, message: "the handler was cancelled")
        } catch {
            return .failure(status: StatusCode.internalError.rawValue, message: "\(context.name) failed: \(error)")
        }
    }

    /// Runs an inline handler and maps what it throws to an ERROR status.
    static func runInline(_ handler: ServiceHandlers.InlineHandler, payload: [UInt8], context: RequestContext) -> HandlerOutcome {
        do {
            return .reply(MeshReply(payload: try handler(payload, context)))
        } catch let error as ServiceError {
            return .failure(status: error.code, message: error.message, metadata: error.metadata)
        } catch let error as BadRequest {
            return .failure(status: StatusCode.badRequest.rawValue, message: error.message)
        } catch {
            return .failure(status: StatusCode.internalError.rawValue, message: "\(context.name) failed: \(error)")
        }
    }

    var outcomeLabel: String {
        switch self {
        case .reply: "ok"
        case .failure(let status, _, _):
            status >= StatusCode.firstApplicationCode ? "application_error" : "\(StatusCode(rawValue: status).map { "\($0)" } ?? "error")"
        }
    }
}
