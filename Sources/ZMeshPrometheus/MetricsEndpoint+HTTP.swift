import NIOCore
import NIOHTTP1
import Prometheus

/// What each request gets. SwiftNIO's HTTP/1 codec parses the requests (and answers malformed
/// ones with 400 itself); this only decides the answer.
extension MetricsEndpoint {
    /// The path scrapes ask for.
    static let metricsPath = "/metrics"
    /// Prometheus's text exposition format.
    static let contentType = "text/plain; version=0.0.4; charset=utf-8"

    /// The status, headers and body of the answer to one request.
    struct Response {
        var status: HTTPResponseStatus
        var headers: HTTPHeaders
        /// Written for GET; for HEAD only its length is sent.
        var body: [UInt8]
    }

    /// The registry's text for GET or HEAD `/metrics` (a query string is ignored), 405 for
    /// other methods there, 404 elsewhere.
    static func response(to head: HTTPRequestHead, registry: PrometheusCollectorRegistry) -> Response {
        let path = head.uri.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false).first ?? ""
        guard path == metricsPath else {
            return text(.notFound, "not found: metrics are at \(metricsPath)\n")
        }
        guard head.method == .GET || head.method == .HEAD else {
            var response = text(.methodNotAllowed, "method \(head.method.rawValue) not allowed: use GET\n")
            response.headers.add(name: "allow", value: "GET, HEAD")
            return response
        }
        let body = registry.emitToBuffer()
        return Response(status: .ok, headers: ["content-type": contentType, "content-length": "\(body.count)"], body: body)
    }

    /// A short plain-text answer.
    private static func text(_ status: HTTPResponseStatus, _ message: String) -> Response {
        let body = Array(message.utf8)
        return Response(status: status, headers: ["content-type": "text/plain; charset=utf-8", "content-length": "\(body.count)"],
                        body: body)
    }
}

/// The last handler of a metrics connection: answers each request once it has all arrived
/// (bodies are dropped), closes the connection when the client asked (`Connection: close`,
/// HTTP/1.0 without keep-alive) or after ``MetricsEndpoint/idleTimeout`` of silence.
/// SwiftNIO's `HTTPServerPipelineHandler` before it holds pipelined requests back until the
/// answer before them is written, and closes the connection gracefully when the endpoint
/// stops.
final class MetricsHTTPHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    private let registry: PrometheusCollectorRegistry
    /// The request being received, from its head to its end.
    private var request: HTTPRequestHead?

    init(registry: PrometheusCollectorRegistry) {
        self.registry = registry
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch Self.unwrapInboundIn(data) {
        case .head(let head):
            request = head
        case .body:
            break
        case .end:
            guard let head = request else { return }
            request = nil
            respond(to: head, context: context)
        }
    }

    private func respond(to head: HTTPRequestHead, context: ChannelHandlerContext) {
        let response = MetricsEndpoint.response(to: head, registry: registry)
        var responseHead = HTTPResponseHead(version: head.version, status: response.status, headers: response.headers)
        let keepAlive = head.isKeepAlive
        if !keepAlive {
            responseHead.headers.replaceOrAdd(name: "connection", value: "close")
        } else if head.version == .http1_0 {
            responseHead.headers.replaceOrAdd(name: "connection", value: "keep-alive")
        }
        context.write(Self.wrapOutboundOut(.head(responseHead)), promise: nil)
        if head.method != .HEAD && !response.body.isEmpty {
            context.write(Self.wrapOutboundOut(.body(.byteBuffer(ByteBuffer(bytes: response.body)))), promise: nil)
        }
        let written = context.writeAndFlush(Self.wrapOutboundOut(.end(nil)))
        if !keepAlive {
            written.assumeIsolated().whenComplete { _ in context.close(promise: nil) }
        }
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if let idle = event as? IdleStateHandler.IdleStateEvent, idle == .read {
            context.close(promise: nil)
        } else {
            context.fireUserInboundEventTriggered(event)
        }
    }
}
