import RotaryLocking
import CMicroHTTPD
#if canImport(Glibc)
import Glibc
#endif

/// A response body produced over time (Server-Sent Events): the handler returns the response at once and
/// keeps writing; the server sends each chunk as soon as it is written, with chunked encoding. While
/// nothing is pending the connection is suspended, not polled.
public final class ResponseStream: @unchecked Sendable {   // all state is behind `state`'s lock
    struct State {
        var pending: [UInt8] = []
        var offset = 0
        var finished = false
        var cancelled = false
        /// The connection is suspended waiting for data (resume it on the next write).
        var waiting = false
        /// libmicrohttpd's connection, as an address (so the state stays Sendable); 0 when detached.
        var connection = 0
    }

    // libmicrohttpd calls in from its own threads: a lock ThreadSanitizer sees (see PthreadLocked).
    private let state = PthreadLocked(State())

    public init() {}

    private func withState<T>(_ body: (inout State) -> T) -> T { state.withLock(body) }

    /// True once the client has gone (or the server is stopping): producers should stop.
    public var isCancelled: Bool { withState { $0.cancelled } }

    public func write(_ bytes: [UInt8]) {
        withState { s in
            guard !s.finished, !s.cancelled else { return }
            s.pending += bytes
            Self.wake(&s)
        }
    }

    /// No more data: the body ends once what is pending has been sent.
    public func finish() {
        withState { s in
            s.finished = true
            Self.wake(&s)
        }
    }

    /// Everything written, once the producer finishes — for in-process callers (tests, `Router.respond`),
    /// where no connection reads the stream.
    public func collected() async -> [UInt8] {
        while true {
            let done: [UInt8]? = withState { s in
                guard s.finished || s.cancelled else { return nil }
                return Array(s.pending[s.offset...])
            }
            if let done { return done }
            try? await Task.sleep(for: .milliseconds(1))
        }
    }

    // Server side.

    func attach(_ connection: OpaquePointer) {
        let address = Int(bitPattern: connection)
        withState { $0.connection = address }
    }

    /// The content reader: bytes copied, 0 after suspending to wait, or −1 at the end.
    func read(into buffer: UnsafeMutablePointer<CChar>, max: Int) -> Int {
        withState { s in
            if s.offset < s.pending.count {
                let count = min(max, s.pending.count - s.offset)
                s.pending.withUnsafeBytes { UnsafeMutableRawPointer(buffer).copyMemory(from: $0.baseAddress! + s.offset, byteCount: count) }
                s.offset += count
                if s.offset == s.pending.count { s.pending.removeAll(keepingCapacity: true); s.offset = 0 }
                return count
            }
            if s.finished || s.cancelled { return -1 }
            // Suspend under the lock, so a writer's resume cannot come before it.
            if let connection = OpaquePointer(bitPattern: s.connection) {
                s.waiting = true
                MHD_suspend_connection(connection)
            }
            return 0
        }
    }

    /// The response is gone (sent, or the client left): stop producers.
    func release() {
        withState { s in
            if !s.finished { s.cancelled = true }
            s.connection = 0
            s.waiting = false
        }
    }

    /// The server is stopping: end the body now.
    func abort() {
        withState { s in
            s.cancelled = true
            Self.wake(&s)
        }
    }

    private static func wake(_ s: inout State) {
        guard s.waiting, let connection = OpaquePointer(bitPattern: s.connection) else { return }
        s.waiting = false
        MHD_resume_connection(connection)
    }
}
