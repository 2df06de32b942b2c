internal import CZeroMQ
#if canImport(Glibc)
import Glibc
#endif

/// Runs a libzmq call again for as long as a signal interrupts it (`EINTR`).
///
/// libzmq looks for its own commands, and so may be interrupted by a signal that has a
/// handler, inside sends, receives and `ZMQ_EVENTS`, even between the frames of one message.
/// Giving up there would tear the message: the frames read so far would be lost and the
/// rest read as a message of its own, or a message half sent would run into the next one.
/// The call is simply made again, as libzmq's documentation asks; the frame it was about
/// to move is still where it was.
@inline(__always)
func uninterrupted(_ call: () -> Int32) -> Int32 {
    while true {
        let result = call()
        if result >= 0 || zmq_errno() != EINTR { return result }
    }
}
