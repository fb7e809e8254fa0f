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
    /// A worker was started for this request (only then can a response be waiting in the hand-over).
    @exclusivity(unchecked) var handedToWorker = false

    /// The hand-over between a worker task and the connection's thread.
    private let handover = Mutex<Handover>(Handover())

    struct Handover {
        var suspended = false
        var response: Response?
        /// The server stopped first and answered for the worker; the worker must not touch the connection.
        var detached = false
    }

    init(connection: OpaquePointer?, method: String, path: String, startNanos: UInt64) {
        self.connection = connection
        self.method = method
        self.path = path
        self.startNanos = startNanos
    }

    func markSuspended() {
        handedToWorker = true
        handover.withLock { $0.suspended = true }
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
