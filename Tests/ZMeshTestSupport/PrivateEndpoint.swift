import Foundation

/// An `ipc://` endpoint of this test's own, which no other test can reach by chance.
///
/// Tests run in parallel in one process, and libzmq reconnects on its own: a TCP port one
/// test bound and freed (`tcp://127.0.0.1:*`) can be handed to the next test's bind while the
/// first test's sockets still try to reconnect to it, and their messages then arrive at the
/// wrong test. Tests that count or decode every message a socket receives bind here instead.
package func privateEndpoint(_ tag: String) -> String {
    "ipc://\(FileManager.default.temporaryDirectory.path)/zmesh-\(tag)-\(UUID().uuidString)"
}
