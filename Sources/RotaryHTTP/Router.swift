import Logging

/// How a route's handler runs.
public enum Handler: Sendable {
    /// Cheap work, answered on libmicrohttpd's own thread.
    case inline(@Sendable (Request) throws -> Response)
    /// Long work: the connection is suspended, the handler runs as a task, then the connection resumes.
    case worker(@Sendable (Request) async throws -> Response)
}

/// One entry of the route table.
public struct Route: Sendable {
    public var method: String
    public var path: String
    /// Media types the body may have; `nil` means the route takes no body type check.
    public var consumes: [String]?
    public var handler: Handler

    public init(_ method: String, _ path: String, consumes: [String]? = nil, handler: Handler) {
        self.method = method
        self.path = path
        self.consumes = consumes
        self.handler = handler
    }
}

/// The route table: exact paths, one handler per (method, path). Runs without a socket.
public struct Router: Sendable {
    /// Every registered route, sorted by path then method (so those of one path sit next to each other).
    public private(set) var routes: [Route] = []
    /// Where each path's routes sit in `routes`, with the path's length. Found by a scan that compares only
    /// paths of the request's length: for a table this small, cheaper than hashing the path, and it copies
    /// (so reference-counts) nothing that both server threads share.
    private var spans: [(length: Int, path: String, routes: Range<Int>)] = []
    private let logger: Logger
    public let policy: AccessPolicy

    public init(routes: [Route] = [], policy: AccessPolicy = AccessPolicy(), logger: Logger = Logger(label: "rotary.http")) {
        self.logger = logger
        self.policy = policy
        for route in routes { add(route) }
    }

    public mutating func add(_ route: Route) {
        precondition(!routes.contains { $0.path == route.path && $0.method == route.method },
                     "duplicate route \(route.method) \(route.path)")
        routes.append(route)
        routes.sort { ($0.path, $0.method) < ($1.path, $1.method) }
        spans = []
        for (i, route) in routes.enumerated() {
            if let last = spans.indices.last, spans[last].path == route.path {
                spans[last].routes = spans[last].routes.lowerBound..<(i + 1)
            } else {
                spans.append((route.path.utf8.count, route.path, i..<(i + 1)))
            }
        }
    }

    /// The indices in `routes` of this path's routes.
    private func routeIndices(of path: String) -> Range<Int>? {
        let length = path.utf8.count
        for i in spans.indices where spans[i].length == length && spans[i].path == path {
            return spans[i].routes
        }
        return nil
    }

    /// Whether any route has this path (metrics label other paths `other`, keeping labels bounded).
    public func hasRoutes(for path: String) -> Bool { routeIndices(of: path) != nil }

    /// How a request is answered: by a route of `routes`, by a CORS preflight, or by an error.
    public enum Resolution {
        case route(Int)
        case preflight(Response)
        case failure(HTTPError)
    }

    /// The route for a request (an index into `routes`), a CORS preflight answer, or the 404/405/415 error
    /// that answers it instead. Indices, not `Route` copies: the server's hot path copies nothing shared.
    public func resolution(_ request: Request) -> Resolution {
        guard let span = routeIndices(of: request.path) else {
            return .failure(.notFound(path: request.path))
        }
        if request.method == "OPTIONS", let origin = policy.corsOrigin {
            return .preflight(preflight(methods: routes[span].map(\.method).sorted(), origin: origin))
        }
        if let refusal = policy.check(request) { return .failure(refusal) }
        let method = request.method == "HEAD" ? "GET" : request.method
        guard let index = span.first(where: { routes[$0].method == method }) else {
            let allowed = routes[span].map(\.method).sorted()
            return .failure(.methodNotAllowed(method: request.method, path: request.path, allowed: allowed))
        }
        if let consumes = routes[index].consumes, !consumes.contains(request.mediaType ?? "") {
            return .failure(.unsupportedMediaType(request.mediaType, expected: consumes))
        }
        return .route(index)
    }

    /// A CORS preflight answer for a path with these methods.
    private func preflight(methods: [String], origin: String) -> Response {
        Response(status: 204, headers: [
            ("Access-Control-Allow-Origin", origin), ("Vary", "Origin"),
            ("Access-Control-Allow-Methods", (methods + ["OPTIONS"]).joined(separator: ", ")),
            ("Access-Control-Allow-Headers", "Content-Type, Authorization, Accept, X-Request-Id"),
            ("Access-Control-Max-Age", "600"),
        ])
    }

    /// Headers every response gets under the policy (the CORS origin when one is configured).
    public var responseHeaders: [(name: String, value: String)] {
        guard let origin = policy.corsOrigin else { return [] }
        return [("Access-Control-Allow-Origin", origin), ("Vary", "Origin"), ("Access-Control-Expose-Headers", "X-Request-Id, Server-Timing")]
    }

    /// Runs an inline handler and turns whatever it throws into an error response.
    public func runInline(_ body: @Sendable (Request) throws -> Response, _ request: Request) -> Response {
        do { return try body(request) } catch { return errorResponse(error, request) }
    }

    /// Runs a worker handler and turns whatever it throws into an error response.
    public func runWorker(_ body: @Sendable (Request) async throws -> Response, _ request: Request) async -> Response {
        do { return try await body(request) } catch { return errorResponse(error, request) }
    }

    /// Answers a request completely, in process: what the server would send, minus transport headers.
    public func respond(to request: Request) async -> Response {
        var response: Response
        switch resolution(request) {
        case .failure(let error): response = error.response
        case .preflight(let preflight): response = preflight
        case .route(let index):
            switch routes[index].handler {
            case .inline(let body): response = runInline(body, request)
            case .worker(let body): response = await runWorker(body, request)
            }
        }
        if response.header("Access-Control-Allow-Origin") == nil { response.headers += responseHeaders }
        if let stream = response.stream {
            response.body = await stream.collected()
            response.stream = nil
        }
        if response.staticBody != nil {
            response.body = response.bodyBytes
            response.staticBody = nil
        }
        return response
    }

    func errorResponse(_ error: any Error, _ request: Request) -> Response {
        if let httpError = error as? HTTPError {
            if httpError.status == 500 {
                logger.error("request \(request.id) \(request.method) \(request.path) failed: \(httpError.message)")
            }
            return httpError.response
        }
        // Anything that is not an HTTPError is a bug in a handler: log it, answer 500.
        logger.error("request \(request.id) \(request.method) \(request.path) raised \(String(reflecting: error))")
        return HTTPError.internalError().response
    }
}
