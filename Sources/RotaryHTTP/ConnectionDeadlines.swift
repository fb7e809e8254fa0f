import RotaryLocking
import CMicroHTTPD
import CRotaryShims
import Glibc
import Synchronization

/// Deadlines for receiving a request: its whole header block, then its whole body. libmicrohttpd 0.9.75 has
/// only an idle timeout, which every byte resets, so a client that trickles a byte every few seconds would
/// hold its connection forever (slowloris). A sweep closes connections past a deadline with a 408.
///
/// A header block's clock starts when its first byte arrives (seen as growth of the socket's received-byte
/// count, so an idle keep-alive connection is left to the idle timeout); the body's when the head is parsed.
final class ConnectionDeadlines: Sendable {
    let headerNanos: UInt64
    let bodyNanos: UInt64
    /// Every open connection, for the sweep. Removal (libmicrohttpd's close notification) comes before
    /// libmicrohttpd closes the descriptor, so under this lock a listed descriptor is still the connection's.
    private let open = PthreadLocked<[ObjectIdentifier: WatchedConnection]>([:])
    private let stopped = Atomic<Bool>(false)

    init(headerSeconds: Double, bodySeconds: Double) {
        headerNanos = UInt64(headerSeconds * 1e9)
        bodyNanos = UInt64(bodySeconds * 1e9)
    }

    var isEnabled: Bool { headerNanos > 0 || bodyNanos > 0 }

    func opened(_ connection: WatchedConnection) { open.withLock { $0[ObjectIdentifier(connection)] = connection } }
    func closed(_ connection: WatchedConnection) { _ = open.withLock { $0.removeValue(forKey: ObjectIdentifier(connection)) } }

    /// Sweeps until `stop()`, often enough that a deadline is overshot by a tenth of it at most. On a thread
    /// of its own: worker tasks that keep the cooperative pool busy must not hold the deadlines back.
    func start() {
        guard isEnabled else { return }
        let shortest = [headerNanos, bodyNanos].filter { $0 > 0 }.min()!
        let periodMicros = useconds_t(min(max(shortest / 10, 20_000_000), 500_000_000) / 1000)
        let box = Unmanaged.passRetained(SweepThread(deadlines: self, periodMicros: periodMicros)).toOpaque()
        var thread = pthread_t()
        if pthread_create(&thread, nil, { box in
            let sweeper = Unmanaged<SweepThread>.fromOpaque(box!).takeRetainedValue()
            sweeper.run()
            return nil
        }, box) == 0 {
            pthread_detach(thread)
        } else {
            Unmanaged<SweepThread>.fromOpaque(box).release()
        }
    }

    /// What the sweep thread runs: the deadlines, and how long it sleeps between sweeps.
    private final class SweepThread {
        let deadlines: ConnectionDeadlines
        let periodMicros: useconds_t
        init(deadlines: ConnectionDeadlines, periodMicros: useconds_t) {
            self.deadlines = deadlines
            self.periodMicros = periodMicros
        }
        func run() {
            while !deadlines.stopped.load(ordering: .relaxed) {
                deadlines.sweep(now: monotonicNanos())
                usleep(periodMicros)
            }
        }
    }

    func stop() { stopped.store(true, ordering: .relaxed) }

    func sweep(now: UInt64) {
        open.withLock { connections in
            for connection in connections.values { check(connection, now: now) }
        }
    }

    private func check(_ connection: WatchedConnection, now: UInt64) {
        switch connection.phase.load(ordering: .acquiring) {
        case .awaitingBaseline:
            connection.baseline = receivedBytes(connection.fd)
            _ = connection.phase.compareExchange(expected: .awaitingBaseline, desired: .idle, ordering: .acquiringAndReleasing)
        case .idle:
            guard headerNanos > 0, receivedBytes(connection.fd) > connection.baseline else { return }
            connection.since.store(now, ordering: .relaxed)
            _ = connection.phase.compareExchange(expected: .idle, desired: .receivingHeaders, ordering: .acquiringAndReleasing)
        case .receivingHeaders:
            expire(connection, in: .receivingHeaders, after: headerNanos, now: now,
                   message: "the request's header block did not arrive within the header timeout (header_timeout)")
        case .receivingBody:
            expire(connection, in: .receivingBody, after: bodyNanos, now: now,
                   message: "the request's body did not arrive within the body timeout (body_timeout)")
        case .handling, .expired:
            break
        }
    }

    private func expire(_ connection: WatchedConnection, in phase: WatchedConnection.Phase, after limit: UInt64,
                        now: UInt64, message: String) {
        // `now` was read when the sweep began: a phase that started after it has `since` > `now`, which
        // must read as "not late" (a wrapping difference once answered 408 to a body that had just begun).
        let since = connection.since.load(ordering: .relaxed)
        guard limit > 0, now > since, now - since > limit,
              connection.phase.compareExchange(expected: phase, desired: .expired, ordering: .acquiringAndReleasing).exchanged
        else { return }
        // Nothing else writes to the socket while a request is still arriving, so the 408 can go straight
        // out; shutting the socket down then makes libmicrohttpd read end-of-stream and close it.
        connection.timeOut(message)
    }

    /// Bytes the socket has received in its life; 0 if it cannot tell.
    private func receivedBytes(_ fd: Int32) -> UInt64 { rotary_socket_bytes_received(fd) }
}

/// One open connection as the deadlines see it; libmicrohttpd keeps it as the connection's socket context.
final class WatchedConnection: Sendable {
    enum Phase: UInt8, AtomicRepresentable {
        /// A request finished; the sweep has yet to note how many bytes the socket had received by then.
        case awaitingBaseline
        /// Waiting for the first byte of a request.
        case idle
        case receivingHeaders
        case receivingBody
        /// The request is complete (or answered): no deadline until the next one starts.
        case handling
        /// Past a deadline and being closed.
        case expired
    }

    let fd: Int32
    let phase = Atomic<Phase>(.idle)
    /// When the current phase started (monotonic nanoseconds).
    let since = Atomic<UInt64>(0)
    /// The socket's received bytes when it went idle; written and read by the sweep only.
    nonisolated(unsafe) var baseline: UInt64 = 0

    init(fd: Int32) { self.fd = fd }

    /// Answers 408 straight to the socket, with `Connection: close`, and shuts the socket down: only while
    /// the request is still arriving (libmicrohttpd sends nothing on it then). libmicrohttpd then reads
    /// end-of-stream and closes the connection as it does for a client that left.
    func timeOut(_ message: String) {
        phase.store(.expired, ordering: .releasing)
        let body = HTTPError(status: 408, type: "request_timeout", message: message).body
        let head = "HTTP/1.1 408 Request Timeout\r\nConnection: close\r\nContent-Type: application/json\r\n"
            + "Content-Length: \(body.count)\r\n\r\n"
        let reply = Array(head.utf8) + body
        _ = reply.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL | MSG_DONTWAIT)) }
        shutdown(fd, Int32(SHUT_RDWR))
    }

    /// The head is parsed: the body's clock starts, or, with no body, the request is complete.
    func headReceived(expectingBody: Bool) {
        if expectingBody { since.store(monotonicNanos(), ordering: .relaxed) }
        phase.store(expectingBody ? .receivingBody : .handling, ordering: .releasing)
    }

    func requestComplete() { phase.store(.handling, ordering: .releasing) }

    /// The response went out: the connection waits for its next request.
    func responseDone() {
        if phase.load(ordering: .relaxed) != .expired { phase.store(.awaitingBaseline, ordering: .releasing) }
    }
}

let notifyConnectionCallback: MHD_NotifyConnectionCallback = { cls, connection, socketContext, event in
    guard let cls, let connection, let socketContext else { return }
    Unmanaged<Server>.fromOpaque(cls)._withUnsafeGuaranteedRef { server in
        switch event {
        case .CONNECTION_NOTIFY_STARTED:
            let watched = WatchedConnection(fd: rotary_mhd_connection_fd(connection))
            socketContext.pointee = Unmanaged.passRetained(watched).toOpaque()
            server.deadlines.opened(watched)
        case .CONNECTION_NOTIFY_CLOSED:
            guard let raw = socketContext.pointee else { return }
            socketContext.pointee = nil
            server.deadlines.closed(Unmanaged<WatchedConnection>.fromOpaque(raw).takeRetainedValue())
        default: break
        }
    }
}

extension Server {
    /// The connection's deadline state (nil when the deadlines are off).
    func watchedConnection(_ connection: OpaquePointer) -> WatchedConnection? {
        guard let raw = rotary_mhd_socket_context(connection) else { return nil }
        return Unmanaged<WatchedConnection>.fromOpaque(raw).takeUnretainedValue()
    }
}
