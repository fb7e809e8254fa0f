import CMicroHTTPD
import CRotaryShims
import Glibc
import Logging
import Synchronization

/// The HTTP server: libmicrohttpd's daemon (epoll, a thread pool) in front of a `Router`.
///
/// Lifecycle: `start()` binds and serves; `stop()` stops accepting, lets requests in flight finish
/// within the drain timeout, then closes every connection.
public final class Server: @unchecked Sendable {
    public let configuration: ServerConfiguration
    public let router: Router
    let logger: Logger
    /// The access log, one logger per server thread: a swift-log `Logger` keeps its handler in a shared
    /// box, whose reference count both threads would otherwise bounce between the cores on every line.
    let accessLoggers: PerThread<AccessLogger>
    /// Requests by route and status, latency histograms.
    public let metrics: RequestMetrics

    private let state = Mutex<LifecycleState>(LifecycleState())
    /// Requests between their first access-handler call and their completion callback.
    let inFlight = Atomic<Int>(0)
    /// Requests whose headers have arrived since start (never decreases).
    let started = Atomic<Int>(0)
    private let requestCounter = Atomic<UInt64>(0)
    private let requestIDPrefix: String
    /// Exchanges whose connection is suspended while a worker runs (for a forced stop).
    let suspendedExchanges = Mutex<[ObjectIdentifier: Exchange]>([:])
    /// Streamed responses still being sent (a forced stop ends them).
    let streams = Mutex<[ObjectIdentifier: ResponseStream]>([:])

    struct LifecycleState {
        var daemon: OpaquePointer?
        var port = 0
        var retainedSelf: Unmanaged<Server>?
    }

    public init(configuration: ServerConfiguration, router: Router, metrics: RequestMetrics = RequestMetrics(),
                logger: Logger = Logger(label: "rotary.http")) {
        self.configuration = configuration
        self.router = router
        self.logger = logger
        accessLoggers = PerThread { AccessLogger(copying: logger) }
        self.metrics = metrics
        self.requestIDPrefix = String(UInt32.random(in: 0...UInt32.max), radix: 16)
    }

    deinit { stop() }

    /// The port actually bound (useful with port 0); 0 before `start()`.
    public var port: Int { state.withLock { $0.port } }

    /// Connections libmicrohttpd holds open (0 when stopped): lets tests see that abandoned ones are freed.
    public var openConnections: Int {
        state.withLock { s in s.daemon.map { Int(rotary_mhd_current_connections($0)) } ?? 0 }
    }

    /// Requests currently being handled.
    public var requestsInFlight: Int { inFlight.load(ordering: .relaxed) }

    /// Requests whose headers have arrived since the server started, finished or not.
    public var requestsStarted: Int { started.load(ordering: .relaxed) }

    public func start() throws(ServerError) {
        try configuration.validate()
        try state.withLock { (s: inout LifecycleState) throws(ServerError) in
            guard s.daemon == nil else { throw ServerError.startFailed("already running") }
            let socket = try ListeningSocket(host: configuration.host, port: configuration.port)
            let retained = Unmanaged.passRetained(self)
            guard let daemon = startDaemon(socket: socket, context: retained.toOpaque()) else {
                retained.release()
                close(socket.descriptor)
                throw ServerError.startFailed("libmicrohttpd refused to start (\(String(cString: strerror(errno))))")
            }
            s.daemon = daemon
            s.retainedSelf = retained
            s.port = socket.port
        }
        logger.info("listening on \(configuration.host):\(port) with \(configuration.threads) threads")
    }

    private func startDaemon(socket: ListeningSocket, context: UnsafeMutableRawPointer) -> OpaquePointer? {
        var flags = MHD_USE_INTERNAL_POLLING_THREAD.rawValue | MHD_USE_EPOLL.rawValue
            | MHD_ALLOW_SUSPEND_RESUME.rawValue
        if socket.isIPv6 { flags |= MHD_USE_IPv6.rawValue }
        func item(_ option: MHD_OPTION, _ value: Int, _ pointer: UnsafeMutableRawPointer? = nil) -> MHD_OptionItem {
            MHD_OptionItem(option: option, value: value, ptr_value: pointer)
        }
        var items = [
            item(.LISTEN_SOCKET, Int(socket.descriptor)),
            item(.CONNECTION_LIMIT, configuration.connectionLimit),
            item(.CONNECTION_TIMEOUT, configuration.idleTimeoutSeconds),
            item(.CONNECTION_MEMORY_LIMIT, configuration.connectionMemoryLimit),
            item(.NOTIFY_COMPLETED, unsafeBitCast(requestCompletedCallback, to: Int.self), context),
        ]
        if configuration.perIPConnectionLimit > 0 {
            items.append(item(.PER_IP_CONNECTION_LIMIT, configuration.perIPConnectionLimit))
        }
        if configuration.threads > 1 {
            items.append(item(.THREAD_POOL_SIZE, configuration.threads))
        }
        items.append(item(.END, 0))
        return items.withUnsafeMutableBufferPointer { buffer in
            // MHD_start_daemon is variadic; Swift reaches it through the va_list variant.
            withVaList([MHD_OPTION.ARRAY.rawValue, buffer.baseAddress!, MHD_OPTION.END.rawValue]) { arguments in
                MHD_start_daemon_va(flags, 0, nil, nil, accessHandlerCallback, context, arguments)
            }
        }
    }

    /// Graceful stop: no new connections, requests in flight get `drainTimeoutSeconds` to finish.
    public func stop() {
        guard let (daemon, retained) = state.withLock({ s -> (OpaquePointer, Unmanaged<Server>?)? in
            guard let d = s.daemon else { return nil }
            s.daemon = nil
            defer { s.retainedSelf = nil }
            return (d, s.retainedSelf)
        }) else { return }
        let listenSocket = MHD_quiesce_daemon(daemon)
        if listenSocket >= 0 { close(listenSocket) }
        waitForRequestsInFlight(seconds: configuration.drainTimeoutSeconds)
        // Workers still running past the deadline: answer for them so no connection stays suspended.
        let stragglers = suspendedExchanges.withLock { table in
            defer { table.removeAll() }
            return Array(table.values)
        }
        for exchange in stragglers {
            let unavailable = HTTPError(status: 503, type: "shutting_down", message: "server is shutting down").response
            if exchange.detach(with: unavailable), let connection = exchange.connection {
                MHD_resume_connection(connection)
            }
        }
        for stream in streams.withLock({ Array($0.values) }) { stream.abort() }
        if !stragglers.isEmpty || inFlight.load(ordering: .acquiring) > 0 { waitForRequestsInFlight(seconds: 1) }   // let the 503s go out
        MHD_stop_daemon(daemon)
        retained?.release()
        logger.info("stopped")
    }

    private func waitForRequestsInFlight(seconds: Double) {
        let deadline = monotonicNanos() + UInt64(seconds * 1e9)
        while inFlight.load(ordering: .acquiring) > 0 && monotonicNanos() < deadline {
            usleep(2_000)
        }
    }

    func nextRequestID(from header: String?) -> String {
        if let header, (1...128).contains(header.utf8.count),
           header.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7f && $0 != UInt8(ascii: "\"") && $0 != UInt8(ascii: "\\") }) {
            return header
        }
        let n = requestCounter.wrappingAdd(1, ordering: .relaxed).newValue
        return requestIDText(prefix: requestIDPrefix, number: n)
    }
}

/// CLOCK_MONOTONIC in nanoseconds.
func monotonicNanos() -> UInt64 {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return UInt64(ts.tv_sec) * 1_000_000_000 + UInt64(ts.tv_nsec)
}

/// A thread's own copy of the server's logger (see `Server.accessLoggers`).
final class AccessLogger: Sendable {
    let logger: Logger
    init(copying shared: Logger) {
        var own = shared
        own.logLevel = shared.logLevel   // a write gives the copy storage of its own
        logger = own
    }
}
