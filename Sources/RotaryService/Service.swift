import Logging
import Synchronization
import RotaryHTTP
import RotaryNumerics

/// Builds the route table: the one place where HTTP meets the numerics.
public enum Service {
    /// - Parameters:
    ///   - owner: the loaded model's owner; without one, model routes answer 503 `model_not_loaded`.
    ///   - readiness: what `/ready` reports (the same object the `Server` is given, which marks it draining).
    public static func router(configuration: ServiceConfiguration = ServiceConfiguration(),
                              owner: ModelOwner? = nil, policy: AccessPolicy = AccessPolicy(),
                              metrics: RequestMetrics = RequestMetrics(), readiness: Readiness = Readiness(),
                              logger: Logger = Logger(label: "rotary")) -> Router {
        let owner = owner ?? ModelOwner(model: nil, name: "none", queueLimit: configuration.modelQueueSize)
        var policy = policy
        policy.openPaths.formUnion(PlaygroundRoutes.paths)
        var routes = HealthRoutes.routes(readiness: readiness)
        routes += PlaygroundRoutes.routes()
        routes.append(Route("GET", "/metrics", handler: .inline { _ in
            .text(metrics.exposition() + owner.exposition, contentType: "text/plain; version=0.0.4")
        }))
        routes += RotateRoutes.routes(configuration: configuration, owner: owner)
        routes += AttentionRoutes.routes(configuration: configuration, owner: owner)
        routes += GenerateRoutes.routes(owner: owner, configuration: configuration)
        routes += CompletionsRoutes.routes(owner: owner, configuration: configuration)
        routes += ChatRoutes.routes(owner: owner, configuration: configuration)
        routes += PerplexityRoutes.routes(owner: owner, configuration: configuration)
        routes += TokenizerRoutes.routes(owner: owner, configuration: configuration)
        return Router(routes: routes, policy: policy, logger: logger)
    }

    /// Paths that answer at once while the model loads: liveness, readiness, the description, the metrics and
    /// the playground's files (the page shows the load itself).
    public static let pathsAnsweredWhileLoading: Set<String> = Set(["/health", "/ready", "/openapi.yaml", "/metrics"])
        .union(PlaygroundRoutes.paths)

    /// The table of the server that listens while the model loads: the same paths and methods as
    /// `router(...)` (so 404, 405, 401 and 415 answer as they will once loaded), `pathsAnsweredWhileLoading`
    /// answered at once, every other request held until `modelRouter` is set and then answered by it. A
    /// client that sends before `/ready` answers 200 waits instead of failing.
    public static func loadingRouter(configuration: ServiceConfiguration = ServiceConfiguration(), policy: AccessPolicy = AccessPolicy(),
                                     metrics: RequestMetrics = RequestMetrics(), readiness: Readiness,
                                     modelRouter: PendingRouter, logger: Logger = Logger(label: "rotary")) -> Router {
        let full = router(configuration: configuration, policy: policy, metrics: metrics, readiness: readiness, logger: logger)
        let routes = full.routes.map { route in
            pathsAnsweredWhileLoading.contains(route.path) ? route
                : Route(route.method, route.path, consumes: route.consumes, handler: .worker { request in
                    try await modelRouter.router().routed(request)
                })
        }
        return Router(routes: routes, policy: full.policy, logger: logger)
    }
}

/// The router of the loaded model, set once; those who ask before wait for it.
public final class PendingRouter: Sendable {
    private let state = Mutex<(router: Router?, waiting: [CheckedContinuation<Router, Never>])>((nil, []))

    public init() {}

    /// Sets the router and wakes everyone waiting for it (a second call is ignored).
    public func set(_ router: Router) {
        let waiting = state.withLock { s -> [CheckedContinuation<Router, Never>] in
            guard s.router == nil else { return [] }
            s.router = router
            defer { s.waiting = [] }
            return s.waiting
        }
        for continuation in waiting { continuation.resume(returning: router) }
    }

    /// The router, once set.
    func router() async -> Router {
        await withCheckedContinuation { continuation in
            let ready = state.withLock { s -> Router? in
                if let router = s.router { return router }
                s.waiting.append(continuation)
                return nil
            }
            if let ready { continuation.resume(returning: ready) }
        }
    }
}

extension Router {
    /// What this table answers to a request, streams left streaming (unlike `respond(to:)`, which collects
    /// them): for a table that passes requests on to this one.
    func routed(_ request: Request) async throws -> Response {
        switch resolution(request) {
        case .failure(let error): throw error
        case .preflight(let response): return response
        case .route(let index):
            switch routes[index].handler {
            case .inline(let body): return try body(request)
            case .worker(let body): return try await body(request)
            }
        }
    }
}

extension Service {
    /// One JSON `/rotate` request through the handler without HTTP, for `rotary bench`; returns the
    /// response size.
    public static func benchmarkRotateJSON(_ body: [UInt8]) -> Int {
        let request = Request(method: "POST", path: "/rotate", headers: [("Content-Type", "application/json")], body: body)
        let response = (try? RotateRoutes.rotate(request, limits: ServiceConfiguration(), cache: benchmarkCache))
        return response?.body.count ?? 0
    }

    private static let benchmarkCache = RoPETableCache()
}
