/// Every setting of the HTTP server, with its default. The CLI exposes each as a flag and an
/// environment variable (`ROTARY_<NAME>`).
public struct ServerConfiguration: Sendable, Equatable {
    /// Address to bind: an IPv4 or IPv6 literal, or `localhost`.
    public var host: String = "127.0.0.1"
    /// TCP port; 0 picks a free one (read it from `Server.port` after `start()`).
    public var port: Int = 8080
    /// libmicrohttpd's thread pool size (connections are spread over these threads).
    public var threads: Int = 2
    /// Largest request body accepted; larger gets 413.
    public var maxBodyBytes: Int = 8 << 20
    /// Most connections open at once, over all clients.
    public var connectionLimit: Int = 1024
    /// Most connections open at once from one IP address (0 = no per-IP limit).
    /// Low enough that a few addresses cannot take every connection (with the header deadline, against
    /// slow clients).
    public var perIPConnectionLimit: Int = 128
    /// Seconds a connection may stay idle before it is closed.
    public var idleTimeoutSeconds: Int = 30
    /// Seconds a request's whole header block may take to arrive, from its first byte (408 and close
    /// beyond; 0 = no deadline). The idle timeout alone restarts at every byte.
    public var headerTimeoutSeconds: Double = 10
    /// Seconds a request's whole body may take to arrive, from the end of its head (408 and close beyond;
    /// 0 = no deadline).
    public var bodyTimeoutSeconds: Double = 60
    /// Bytes libmicrohttpd may use per connection for headers and buffers (headers past it get 431).
    public var connectionMemoryLimit: Int = 32 << 10
    /// Bytes of responses over 64 KiB that may be held at once, built and not yet read by their clients,
    /// over all connections; a large response past it is refused with 503 and `Retry-After`.
    public var maxBufferedResponseBytes: Int = 256 << 20
    /// Seconds a graceful stop waits for in-flight requests before closing everything.
    public var drainTimeoutSeconds: Double = 10
    /// Seconds `Server.drain()` keeps accepting and serving after readiness turns to draining, before the
    /// stop: the time a balancer polling `/ready` needs to take the server out of its pool (its check
    /// interval × failures to mark down). 0: stop at once, for platforms that remove the endpoint before
    /// the signal (Kubernetes with a preStop pause).
    public var drainDelaySeconds: Double = 0

    public init() {}

    /// Checks values that libmicrohttpd would otherwise reject with no explanation.
    public func validate() throws(ServerError) {
        func need(_ ok: Bool, _ what: String) throws(ServerError) {
            if !ok { throw ServerError.invalidConfiguration(what) }
        }
        try need((0...65535).contains(port), "port must be 0...65535, got \(port)")
        try need((1...256).contains(threads), "threads must be 1...256, got \(threads)")
        try need(maxBodyBytes >= 0, "max body bytes must be >= 0")
        try need(connectionLimit >= 1, "connection limit must be >= 1")
        try need(perIPConnectionLimit >= 0, "per-IP connection limit must be >= 0")
        try need(idleTimeoutSeconds >= 0, "idle timeout must be >= 0")
        try need(connectionMemoryLimit >= 4096, "connection memory limit must be >= 4096 bytes")
        try need(drainTimeoutSeconds >= 0, "drain timeout must be >= 0")
        try need(drainDelaySeconds >= 0, "drain delay must be >= 0")
        try need(maxBufferedResponseBytes >= 0, "max buffered response bytes must be >= 0")
        try need(headerTimeoutSeconds >= 0, "header timeout must be >= 0")
        try need(bodyTimeoutSeconds >= 0, "body timeout must be >= 0")
    }
}

/// Failures of the server's own lifecycle (not of a request).
public enum ServerError: Error, Equatable, CustomStringConvertible {
    case invalidConfiguration(String)
    case invalidHost(String)
    case startFailed(String)

    public var description: String {
        switch self {
        case .invalidConfiguration(let what): return "invalid configuration: \(what)"
        case .invalidHost(let host): return "cannot bind to host '\(host)': not an IP address or 'localhost'"
        case .startFailed(let why): return "server failed to start: \(why)"
        }
    }
}
