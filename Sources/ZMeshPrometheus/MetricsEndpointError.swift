import Foundation
import NIOCore
public import ZMesh

/// A ``MetricsEndpoint`` could not listen at its address: the port is taken, the host is no
/// address of this machine, or no such host. Its description names the address and why:
/// `cannot serve metrics at 127.0.0.1:9601: Address already in use`.
public struct MetricsEndpointError: Error, Sendable, CustomStringConvertible {
    /// The address it tried.
    public let address: MetricsAddress
    /// Why it could not listen there, in the system's words where it has some.
    public let reason: String

    /// An error for `address`, saying `reason`.
    public init(address: MetricsAddress, reason: String) {
        self.address = address
        self.reason = reason
    }

    /// An error for `address` from what the bind threw.
    init(address: MetricsAddress, underlying error: any Error) {
        let reason: String
        if let error = error as? IOError {
            reason = String(cString: strerror(error.errnoCode))
        } else if let error = error as? SocketAddressError, case .unknown = error {
            reason = "no such host"
        } else {
            reason = "\(error)"
        }
        self.init(address: address, reason: reason)
    }

    /// `cannot serve metrics at HOST:PORT: REASON`.
    public var description: String {
        "cannot serve metrics at \(address): \(reason)"
    }
}
