import NIOCore
import NIOHTTP1
import Synchronization

/// The connections a ``MetricsEndpoint`` has open: at most `limit` at once, and closed all
/// together when it stops.
final class OpenConnections: Sendable {
    private struct State {
        var open: [ObjectIdentifier: any Channel] = [:]
        var stopping = false
    }

    private let state = Mutex(State())
    let limit: Int

    init(limit: Int) { self.limit = limit }

    /// Takes `channel` in, unless `limit` are open or the endpoint is stopping; it leaves by
    /// itself when it closes.
    func admit(_ channel: any Channel) -> Bool {
        let admitted = state.withLock { state in
            guard !state.stopping, state.open.count < limit else { return false }
            state.open[ObjectIdentifier(channel)] = channel
            return true
        }
        if admitted {
            channel.closeFuture.whenComplete { _ in
                _ = self.state.withLock { $0.open.removeValue(forKey: ObjectIdentifier(channel)) }
            }
        }
        return admitted
    }

    /// How many are open now.
    var count: Int { state.withLock { $0.open.count } }

    /// Admits no more, asks every open connection to close once its response in progress is
    /// written (SwiftNIO's `ChannelShouldQuiesceEvent`: an idle one closes at once), closes
    /// those still open after `grace`, and returns once all are closed.
    func closeAll(grace: Duration) async {
        let channels = state.withLock { state in
            state.stopping = true
            return Array(state.open.values)
        }
        guard !channels.isEmpty else { return }
        for channel in channels {
            channel.pipeline.fireUserInboundEventTriggered(ChannelShouldQuiesceEvent())
        }
        await withTaskGroup(of: Void.self) { group in
            group.addTask {
                for channel in channels {
                    // A close future never fails; it completes once the channel is closed.
                    try? await channel.closeFuture.get()
                }
            }
            group.addTask {
                guard (try? await Task.sleep(for: grace)) != nil else { return }
                for channel in channels { channel.close(promise: nil) }
            }
            await group.next()
            group.cancelAll()
        }
    }
}
