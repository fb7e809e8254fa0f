import CMicroHTTPD
import CRotaryShims
import Glibc
import Logging
import Synchronization

/// The HTTP server: libmicrohttpd's daemon (epoll, a thread pool) in front of a `Router`.
///
/// Lifecycle: `start()` binds and serves; `stop()` stops accepting, lets requests in flight finish
/// within the drain timeout, then closes every connection. `handOver(to:)` passes the listening socket to
/// another server with no moment where connections are refused (the server that answers while the model
/// loads hands over to the one that serves it).
public final class Server: @unchecked Sendable {
    /// The swift-log `source` of the access log's lines (one per request), so handlers can tell them apart.
    public static let accessLogSource = "http"

    public let configuration: ServerConfiguration
    public let router: Router
    let logger: Logger
    /// What each server thread keeps for itself (access logger, request counts, request ids): anything
    /// both threads wrote on every request would bounce its cache line between the cores.
    let threadStates: PerThread<ServerThreadState>
    /// Requests by route and status, latency histograms.
    public let metrics: RequestMetrics
    /// What `/ready` reports; `stop()` marks it draining. While it is not `ready`, every response carries
    /// `Connection: close`, so a balancer's kept-alive connections end at a response boundary instead of
    /// being cut when the server stops.
    public let readiness: Readiness
    /// The header and body deadlines, swept while the server runs.
    let deadlines: ConnectionDeadlines
    /// Bytes of large responses built and not yet read by their clients, against their limit.
    let responseBudget: ResponseBudget

    private let state = Mutex<LifecycleState>(LifecycleState())
    private let requestIDPrefix: String
    /// Exchanges whose connection is suspended while a worker runs (for a forced stop).
    let suspendedExchanges = Mutex<[ObjectIdentifier: Exchange]>([:])
    /// Streamed responses still being sent (a forced stop ends them).
    let streams = Mutex<[ObjectIdentifier: ResponseStream]>([:])

    struct LifecycleState {
        var daemon: OpaquePointer?
        var port = 0
        var retainedSelf: Unmanaged<Server>?
        var isIPv6 = false
    }

    public init(configuration: ServerConfiguration, router: Router, metrics: RequestMetrics = RequestMetrics(),
                readiness: Readiness = Readiness(), logger: Logger = Logger(label: "rotary.http")) {
        self.configuration = configuration
        self.readiness = readiness
        self.router = router
        self.logger = logger
        let numbers = RequestNumbers()
        threadStates = PerThread { ServerThreadState(copying: logger, numbers: numbers) }
        self.metrics = metrics
        responseBudget = ResponseBudget(limit: configuration.maxBufferedResponseBytes)
        deadlines = ConnectionDeadlines(headerSeconds: configuration.headerTimeoutSeconds,
                                        bodySeconds: configuration.bodyTimeoutSeconds)
        // Six hex digits: with a dash and up to eight digits of request number an id stays within 15
        // bytes, which a String stores inline (no allocation per request).
        let random = String(UInt32.random(in: 0..<(1 << 24)), radix: 16)
        self.requestIDPrefix = String(repeating: "0", count: 6 - random.count) + random
    }

    deinit { stop() }

    /// The port actually bound (useful with port 0); 0 before `start()`.
    public var port: Int { state.withLock { $0.port } }

    /// Connections libmicrohttpd holds open (0 when stopped): lets tests see that abandoned ones are freed.
    public var openConnections: Int {
        state.withLock { s in s.daemon.map { Int(rotary_mhd_current_connections($0)) } ?? 0 }
    }

    /// Bytes of large responses (over 64 KiB each) queued and not yet sent or dropped.
    public var bufferedResponseBytes: Int { responseBudget.bytesInUse }

    /// Requests between their first access-handler call and their completion callback.
    public var requestsInFlight: Int {
        let states = threadStates.values
        // Finished counts first: every request counted finished then is also counted started, so the
        // difference never goes below zero.
        let finished = states.reduce(0) { $0 + $1.finished.load(ordering: .acquiring) }
        let started = states.reduce(0) { $0 + $1.started.load(ordering: .acquiring) }
        return started - finished
    }

    /// Requests whose headers have arrived since the server started, finished or not.
    public var requestsStarted: Int {
        threadStates.values.reduce(0) { $0 + $1.started.load(ordering: .acquiring) }
    }

    public func start() throws(ServerError) {
        try configuration.validate()
        try start(on: ListeningSocket(host: configuration.host, port: configuration.port))
    }

    /// Serves on a socket already listening; closes it if the daemon cannot start.
    private func start(on socket: ListeningSocket, note: String = "") throws(ServerError) {
        try configuration.validate()
        try state.withLock { (s: inout LifecycleState) throws(ServerError) in
            guard s.daemon == nil else {
                close(socket.descriptor)
                throw ServerError.startFailed("already running")
            }
            let retained = Unmanaged.passRetained(self)
            guard let daemon = startDaemon(socket: socket, context: retained.toOpaque()) else {
                retained.release()
                close(socket.descriptor)
                throw ServerError.startFailed("libmicrohttpd refused to start (\(String(cString: strerror(errno))))")
            }
            s.daemon = daemon
            s.retainedSelf = retained
            s.port = socket.port
            s.isIPv6 = socket.isIPv6
        }
        deadlines.start()
        logger.info("listening on \(configuration.host):\(port) with \(configuration.threads) threads\(note)")
    }

    /// Starts `successor` on this server's listening socket, then stops this one (its requests in flight
    /// finish first). The socket never closes, so clients meet no refused connection in between; the
    /// readiness is left as it is (a hand-over is not a drain).
    public func handOver(to successor: Server, note: String = "") throws(ServerError) {
        guard let (daemon, retained, port, isIPv6) = takeDaemon() else { throw ServerError.startFailed("not running") }
        let listenSocket = MHD_quiesce_daemon(daemon)
        defer { drainAndStop(daemon, retained, message: "handed the listening socket over") }
        guard listenSocket >= 0 else { throw ServerError.startFailed("libmicrohttpd did not release the listening socket") }
        try successor.start(on: ListeningSocket(adopting: listenSocket, port: port, isIPv6: isIPv6), note: note)
    }

    private func startDaemon(socket: ListeningSocket, context: UnsafeMutableRawPointer) -> OpaquePointer? {
        // MHD_USE_ITC: without it libmicrohttpd cannot quiesce a daemon that polls in its own threads (stop, hand-over).
        var flags = MHD_USE_INTERNAL_POLLING_THREAD.rawValue | MHD_USE_EPOLL.rawValue
            | MHD_ALLOW_SUSPEND_RESUME.rawValue | MHD_USE_ITC.rawValue
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
            item(.URI_LOG_CALLBACK, unsafeBitCast(uriLogCallback, to: Int.self), context),
        ]
        if deadlines.isEnabled {
            items.append(item(.NOTIFY_CONNECTION, unsafeBitCast(notifyConnectionCallback, to: Int.self), context))
        }
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

    /// Graceful stop: readiness to draining, no new connections, requests in flight get
    /// `drainTimeoutSeconds` to finish.
    public func stop() {
        guard let (daemon, retained, _, _) = takeDaemon() else { return }
        readiness.markDraining()
        let listenSocket = MHD_quiesce_daemon(daemon)
        if listenSocket >= 0 { close(listenSocket) }
        drainAndStop(daemon, retained, message: "stopped")
    }

    /// The stop a balancer sees coming: readiness turns to draining at once (`/ready` answers 503, every
    /// response closes its connection), the server keeps accepting and serving for `drainDelaySeconds`,
    /// then `stop()`.
    public func drain() {
        readiness.markDraining()
        let delay = configuration.drainDelaySeconds
        if delay > 0 {
            let deadline = monotonicNanos() + UInt64(delay * 1e9)
            while monotonicNanos() < deadline { usleep(10_000) }
        }
        stop()
    }

    /// The running daemon, taken out of the lifecycle state (nil when not running): whoever takes it stops it.
    private func takeDaemon() -> (OpaquePointer, Unmanaged<Server>?, port: Int, isIPv6: Bool)? {
        state.withLock { s in
            guard let d = s.daemon else { return nil }
            s.daemon = nil
            defer { s.retainedSelf = nil }
            return (d, s.retainedSelf, s.port, s.isIPv6)
        }
    }

    /// Waits for requests in flight (up to the drain timeout), answers for the stragglers, stops the daemon.
    private func drainAndStop(_ daemon: OpaquePointer, _ retained: Unmanaged<Server>?, message: String) {
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
        if !stragglers.isEmpty || requestsInFlight > 0 { waitForRequestsInFlight(seconds: 1) }   // let the 503s go out
        MHD_stop_daemon(daemon)
        deadlines.stop()
        retained?.release()
        logger.info("\(message)")
    }

    private func waitForRequestsInFlight(seconds: Double) {
        let deadline = monotonicNanos() + UInt64(seconds * 1e9)
        while requestsInFlight > 0 && monotonicNanos() < deadline {
            usleep(2_000)
        }
    }

    func nextRequestID(from header: String?, on thread: ServerThreadState) -> String {
        if let header, (1...128).contains(header.utf8.count),
           header.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7f && $0 != UInt8(ascii: "\"") && $0 != UInt8(ascii: "\\") }) {
            return header
        }
        return requestIDText(prefix: requestIDPrefix, number: thread.nextRequestNumber())
    }
}

/// CLOCK_MONOTONIC in nanoseconds.
func monotonicNanos() -> UInt64 {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return UInt64(ts.tv_sec) * 1_000_000_000 + UInt64(ts.tv_nsec)
}

/// One server thread's own state. Only its thread writes it; anyone may read the counts.
final class ServerThreadState: @unchecked Sendable {   // the id block is touched by the owning thread only
    /// A copy of the server's logger with storage of its own: a swift-log `Logger` keeps its handler in a
    /// box, whose reference count both threads would otherwise bounce between the cores on every line.
    let accessLogger: Logger
    /// Requests this thread saw start, and saw complete.
    let started = Atomic<Int>(0)
    let finished = Atomic<Int>(0)
    private let numbers: RequestNumbers
    private var nextNumber: UInt64 = 0
    private var blockEnd: UInt64 = 0
    /// Request numbers are taken from the server's counter this many at a time.
    static let numberBlock: UInt64 = 4096

    init(copying shared: Logger, numbers: RequestNumbers) {
        var own = shared
        own.logLevel = shared.logLevel   // a write gives the copy storage of its own
        accessLogger = own
        self.numbers = numbers
    }

    /// Counts are written by this thread only, so a plain store suffices (no locked read-modify-write).
    func countStarted() { started.store(started.load(ordering: .relaxed) + 1, ordering: .releasing) }
    func countFinished() { finished.store(finished.load(ordering: .relaxed) + 1, ordering: .releasing) }

    /// A request number unique within the server (numbers rise per thread, not across threads).
    func nextRequestNumber() -> UInt64 {
        if nextNumber == blockEnd {
            nextNumber = numbers.counter.wrappingAdd(Self.numberBlock, ordering: .relaxed).oldValue + 1
            blockEnd = nextNumber + Self.numberBlock
        }
        defer { nextNumber += 1 }
        return nextNumber
    }
}

/// The server's request-number counter, from which each thread takes blocks.
final class RequestNumbers: Sendable {
    let counter = Atomic<UInt64>(0)
}
