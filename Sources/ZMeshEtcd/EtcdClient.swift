public import AsyncHTTPClient
import Foundation
import NIOCore
import NIOFoundationCompat
import NIOHTTP1
import Synchronization

/// A key and its value as etcd holds it.
public struct EtcdKeyValue: Sendable, Equatable {
    /// The key, such as `/zmesh/echo/echo-1-3fa2b1c4`.
    public let key: String
    /// The value's bytes.
    public let value: [UInt8]
    /// The revision of the key's last change.
    public let modRevision: Int64
}

/// A change under a watched prefix.
public enum EtcdWatchEvent: Sendable, Equatable {
    /// The key was created or changed.
    case put(EtcdKeyValue)
    /// The key was deleted (or its lease expired), at `revision`.
    case delete(key: String, revision: Int64)
}

/// A client of etcd's v3 API through its JSON gateway (`/v3/...` over HTTP, which etcd 3.4
/// serves on its client URLs), on async-http-client: leases, puts and deletes, range reads
/// and watches from a revision. No hand-written HTTP.
///
/// Requests go to the first endpoint that answers, starting with the last that did; one
/// that cannot be reached is an ``EtcdError`` of kind ``EtcdError/Kind/unreachable`` naming
/// every endpoint tried.
///
/// ```swift
/// let etcd = EtcdClient(endpoints: ["http://127.0.0.1:2379"])
/// let lease = try await etcd.grantLease(ttlSeconds: 2)
/// try await etcd.put("/zmesh/echo/echo-1", Array(json.utf8), lease: lease)
/// ```
public final class EtcdClient: Sendable {
    /// The endpoints, such as `http://127.0.0.1:2379`.
    public let endpoints: [String]
    /// How long a unary request may take.
    public let requestTimeout: Duration
    private let http: HTTPClient
    private let preferred = Atomic<Int>(0)

    /// A client of the etcd cluster at `endpoints` (`http://HOST:PORT`, at least one).
    public init(endpoints: [String], requestTimeout: Duration = .seconds(2), http: HTTPClient = .shared) {
        precondition(!endpoints.isEmpty, "an EtcdClient needs an endpoint")
        self.endpoints = endpoints
        self.requestTimeout = requestTimeout
        self.http = http
    }

    // MARK: Leases

    /// Grants a lease of `ttlSeconds`; keys put with it are deleted when it expires.
    public func grantLease(ttlSeconds: Int) async throws(EtcdError) -> Int64 {
        let answer: EtcdMessages.LeaseGrant = try await post("/v3/lease/grant", ["TTL": "\(ttlSeconds)"])
        guard let id = answer.ID?.value, id != 0 else {
            throw EtcdError(.refused, endpoint: currentEndpoint, message: answer.error ?? "no lease id in the answer")
        }
        return id
    }

    /// Renews `lease`; returns its TTL in seconds. Throws ``EtcdError/Kind/leaseExpired`` if
    /// it is gone (then its keys are gone too).
    @discardableResult
    public func keepAlive(lease: Int64) async throws(EtcdError) -> Int {
        let answer: EtcdMessages.KeepAlive = try await post("/v3/lease/keepalive", ["ID": "\(lease)"])
        if let error = answer.error { throw EtcdError(.refused, endpoint: currentEndpoint, message: error.message ?? "keep-alive failed") }
        guard let ttl = answer.result?.TTL?.value, ttl > 0 else {
            throw EtcdError(.leaseExpired, endpoint: currentEndpoint, message: "lease \(lease) is gone")
        }
        return Int(ttl)
    }

    /// Revokes `lease` at once, deleting every key put with it.
    public func revoke(lease: Int64) async throws(EtcdError) {
        let _: EtcdMessages.Put = try await post("/v3/lease/revoke", ["ID": "\(lease)"])
    }

    // MARK: Keys

    /// Sets `key` to `value`, attached to `lease` if given; returns the store's new revision.
    @discardableResult
    public func put(_ key: String, _ value: [UInt8], lease: Int64? = nil) async throws(EtcdError) -> Int64 {
        var body = ["key": key.etcdBase64, "value": Data(value).base64EncodedString()]
        if let lease { body["lease"] = "\(lease)" }
        let answer: EtcdMessages.Put = try await post("/v3/kv/put", body)
        return answer.header?.revision?.value ?? 0
    }

    /// Deletes `key`.
    public func delete(_ key: String) async throws(EtcdError) {
        let _: EtcdMessages.Put = try await post("/v3/kv/deleterange", ["key": key.etcdBase64])
    }

    /// Every key under `prefix`, and the store's revision at the read: watch from
    /// `revision + 1` to miss no change after it.
    public func range(prefix: String) async throws(EtcdError) -> (revision: Int64, values: [EtcdKeyValue]) {
        let answer: EtcdMessages.Range = try await post("/v3/kv/range", ["key": prefix.etcdBase64, "range_end": prefix.etcdPrefixEnd])
        let values = (answer.kvs ?? []).compactMap(Self.keyValue)
        return (answer.header?.revision?.value ?? 0, values)
    }

    // MARK: Watches

    /// Changes under `prefix` from `revision` on, in batches as etcd sends them, until the
    /// stream is cancelled or the connection ends (then it finishes with an ``EtcdError``:
    /// watch again from the last revision seen plus one).
    public func watch(prefix: String, fromRevision revision: Int64) -> AsyncThrowingStream<[EtcdWatchEvent], any Error> {
        let endpoint = currentEndpoint
        let body = #"{"create_request":{"key":"\#(prefix.etcdBase64)","range_end":"\#(prefix.etcdPrefixEnd)","start_revision":"\#(revision)"}}"#
        let http = self.http
        return AsyncThrowingStream { continuation in
            let task = Task {
                do {
                    var request = HTTPClientRequest(url: endpoint + "/v3/watch")
                    request.method = .POST
                    request.headers.add(name: "Content-Type", value: "application/json")
                    request.body = .bytes(ByteBuffer(string: body))
                    let response = try await http.execute(request, timeout: .hours(24 * 365))
                    guard response.status == .ok else {
                        throw EtcdError(.refused, endpoint: endpoint, message: "HTTP \(response.status.code) to a watch")
                    }
                    var pending = [UInt8]()
                    for try await chunk in response.body {
                        pending.append(contentsOf: chunk.readableBytesView)
                        while let newline = pending.firstIndex(of: UInt8(ascii: "\n")) {
                            let line = Array(pending[..<newline])
                            pending.removeSubrange(...newline)
                            if let events = try Self.watchEvents(line, endpoint: endpoint), !events.isEmpty {
                                continuation.yield(events)
                            }
                        }
                    }
                    throw EtcdError(.unreachable, endpoint: endpoint, message: "the watch connection ended")
                } catch is CancellationError {
                    continuation.finish()
                } catch let error as EtcdError {
                    continuation.finish(throwing: error)
                } catch {
                    continuation.finish(throwing: EtcdError(.unreachable, endpoint: endpoint, message: "\(error)"))
                }
            }
            continuation.onTermination = { _ in task.cancel() }
        }
    }

    /// The events of one line of a watch's stream; nil for lines with none (created, progress).
    static func watchEvents(_ line: [UInt8], endpoint: String) throws(EtcdError) -> [EtcdWatchEvent]? {
        guard !line.isEmpty else { return nil }
        let decoded: EtcdMessages.WatchLine
        do {
            decoded = try JSONDecoder().decode(EtcdMessages.WatchLine.self, from: Data(line))
        } catch {
            throw EtcdError(.badAnswer, endpoint: endpoint, message: "a watch line that does not decode: \(error)")
        }
        if let error = decoded.error { throw EtcdError(.refused, endpoint: endpoint, message: error.message ?? "watch failed") }
        if decoded.result?.canceled == true {
            let compacted = decoded.result?.compactRevision.map { " (compacted at revision \($0.value))" } ?? ""
            throw EtcdError(.refused, endpoint: endpoint, message: "etcd cancelled the watch\(compacted)")
        }
        return decoded.result?.events?.compactMap { event -> EtcdWatchEvent? in
            guard let kv = event.kv, let key = kv.key.flatMap(Self.decodeBase64) else { return nil }
            if event.type == "DELETE" { return .delete(key: String(decoding: key, as: UTF8.self), revision: kv.modRevision?.value ?? 0) }
            return Self.keyValue(kv).map(EtcdWatchEvent.put)
        }
    }

    // MARK: Inside

    private var currentEndpoint: String { endpoints[preferred.load(ordering: .relaxed) % endpoints.count] }

    private static func decodeBase64(_ text: String) -> [UInt8]? { Data(base64Encoded: text).map(Array.init) }

    private static func keyValue(_ kv: EtcdMessages.KeyValue) -> EtcdKeyValue? {
        guard let key = kv.key.flatMap(decodeBase64) else { return nil }
        return EtcdKeyValue(key: String(decoding: key, as: UTF8.self), value: kv.value.flatMap(decodeBase64) ?? [],
                            modRevision: kv.modRevision?.value ?? 0)
    }

    /// POSTs `body` (JSON strings) to `path` at the preferred endpoint, then the others.
    private func post<Answer: Decodable>(_ path: String, _ body: [String: String]) async throws(EtcdError) -> Answer {
        let json: Data
        do { json = try JSONEncoder().encode(body) } catch {
            throw EtcdError(.badAnswer, endpoint: currentEndpoint, message: "cannot encode the request: \(error)")
        }
        let first = preferred.load(ordering: .relaxed)
        var failures: [String] = []
        for offset in 0..<endpoints.count {
            let index = (first + offset) % endpoints.count
            let endpoint = endpoints[index]
            var request = HTTPClientRequest(url: endpoint + path)
            request.method = .POST
            request.headers.add(name: "Content-Type", value: "application/json")
            request.body = .bytes(ByteBuffer(bytes: json))
            let response: HTTPClientResponse
            let bytes: ByteBuffer
            do {
                response = try await http.execute(request, timeout: .milliseconds(Int64(requestTimeout / .milliseconds(1))))
                bytes = try await response.body.collect(upTo: 16 * 1024 * 1024)
            } catch {
                failures.append("\(endpoint): \(error)")
                continue
            }
            preferred.store(index, ordering: .relaxed)
            guard response.status == .ok else {
                let text = String(buffer: bytes)
                throw EtcdError(.refused, endpoint: endpoint, message: "HTTP \(response.status.code): \(text.prefix(200))")
            }
            do {
                return try JSONDecoder().decode(Answer.self, from: Data(buffer: bytes))
            } catch {
                throw EtcdError(.badAnswer, endpoint: endpoint, message: "\(error)")
            }
        }
        throw EtcdError(.unreachable, endpoint: endpoints.joined(separator: ", "), message: failures.joined(separator: "; "))
    }
}
