import CMicroHTTPD  // with it the socket flags (MSG_*) Glibc leaves out
import Glibc
import Synchronization

/// The state of one request on one connection, from its first access-handler call to the
/// request-completed callback (which releases it, also when the client aborts).
final class Exchange: @unchecked Sendable {
    // Touched only by the libmicrohttpd thread that owns the connection, one call at a time: the runtime
    // exclusivity checks on these properties (a measurable share of a /health request) are switched off.
    let startNanos: UInt64
    /// libmicrohttpd's connection; valid until the request-completed callback.
    nonisolated(unsafe) let connection: OpaquePointer?
    let method: String
    let path: String
    @exclusivity(unchecked) var id: String = ""
    /// The request's headers, names lower-cased (collected at the first call, handed to the `Request`).
    @exclusivity(unchecked) var headers: [(name: String, value: String)] = []
    @exclusivity(unchecked) var body: [UInt8] = []
    @exclusivity(unchecked) var bodyLimitExceeded = false
    /// A response was already queued (e.g. an early 413); later calls only drain the body.
    @exclusivity(unchecked) var answered = false
    @exclusivity(unchecked) var status = 0
    /// When the complete request went to the router (0 if it never did).
    @exclusivity(unchecked) var dispatchNanos: UInt64 = 0
    @exclusivity(unchecked) var bytesSent = 0
    /// The request's `Content-Length`, if it gave one.
    @exclusivity(unchecked) var declaredLength: Int?
    /// Whether the path is a route (metrics label it by path, else `other`); nil until the router saw it.
    @exclusivity(unchecked) var pathIsRoute: Bool?
    /// The connection's deadline state (nil when deadlines are off).
    @exclusivity(unchecked) var watched: WatchedConnection?
    /// A worker was started for this request (only then can a response be waiting in the hand-over).
    @exclusivity(unchecked) var handedToWorker = false

    /// The hand-over between a worker task and the connection's thread.
    private let handover = Mutex<Handover>(Handover())

    struct Handover {
        var suspended = false
        var response: Response?
        /// The server stopped first and answered for the worker; the worker must not touch the connection.
        var detached = false
        /// A `100 Continue` went out to tell a half-closed client from a closed one.
        var interimSent = false
    }

    /// HTTP/1.1: the client must accept a `100 Continue` before the final response (RFC 9110 §15.2).
    let allowsInterimResponses: Bool

    init(connection: OpaquePointer?, method: String, path: String, startNanos: UInt64, allowsInterimResponses: Bool = false) {
        self.connection = connection
        self.method = method
        self.path = path
        self.startNanos = startNanos
        self.allowsInterimResponses = allowsInterimResponses
    }

    /// A check that the client is still there, for worker handlers.
    ///
    /// End-of-stream alone does not tell: a client that shut down only its sending side (`nc -N`, some
    /// proxies) still reads the answer, while one that closed the socket does not. So on end-of-stream,
    /// while the connection is still suspended (its descriptor is ours to write and nothing else is sent
    /// on it), the probe sends a `100 Continue`: a closed socket answers with a reset, which the next probe
    /// sees; a half-closed one reads and skips it. After the final response has started, libmicrohttpd's
    /// own writes end the response of a client that has gone.
    func connectionProbe(fd: Int32) -> @Sendable () -> Bool {
        guard fd >= 0 else { return { true } }
        let sendsInterim = allowsInterimResponses
        return { [self] in
            var byte: UInt8 = 0
            let received = recv(fd, &byte, 1, Int32(MSG_PEEK | MSG_DONTWAIT))
            if received < 0 { return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR }
            if received > 0 { return true }
            guard sendsInterim else { return false }   // HTTP/1.0: no interim answer to ask with
            return handover.withLock { state in
                guard state.suspended, !state.detached else { return true }
                // The reset does not show in recv (end-of-stream is reported first), but it ends the TCP state.
                if state.interimSent { return !Self.socketIsReset(fd) }
                state.interimSent = true
                let interim: StaticString = "HTTP/1.1 100 Continue\r\n\r\n"
                return send(fd, interim.utf8Start, interim.utf8CodeUnitCount, Int32(MSG_NOSIGNAL | MSG_DONTWAIT)) > 0
            }
        }
    }

    func markSuspended() {
        handedToWorker = true
        handover.withLock { $0.suspended = true }
    }

    /// Whether the peer answered with a reset: TCP has left every state but CLOSE.
    private static func socketIsReset(_ fd: Int32) -> Bool {
        var info = tcp_info()
        var size = socklen_t(MemoryLayout<tcp_info>.size)
        guard getsockopt(fd, Int32(IPPROTO_TCP), TCP_INFO, &info, &size) == 0 else { return true }
        return Int(info.tcpi_state) == TCP_CLOSE
    }

    /// Stores the worker's response; true when the caller must resume the connection.
    func deliver(_ response: Response) -> Bool {
        handover.withLock { state in
            guard state.suspended, !state.detached else { return false }
            state.response = response
            state.suspended = false
            return true
        }
    }

    /// Called when the server must stop before the worker finished: answers for it.
    func detach(with response: Response) -> Bool {
        handover.withLock { state in
            guard state.suspended else { return false }
            state.response = response
            state.suspended = false
            state.detached = true
            return true
        }
    }

    /// The response a worker left, taken once.
    func takeResponse() -> Response? {
        handover.withLock { state in
            defer { state.response = nil }
            return state.response
        }
    }
}
