import Logging
import RotaryHTTP
import RotaryNumerics

/// Builds the route table: the one place where HTTP meets the numerics.
public enum Service {
    /// - Parameter owner: the loaded model's owner; without one, model routes answer 503 `model_not_loaded`.
    public static func router(configuration: ServiceConfiguration = ServiceConfiguration(),
                              owner: ModelOwner? = nil, policy: AccessPolicy = AccessPolicy(),
                              metrics: RequestMetrics = RequestMetrics(), logger: Logger = Logger(label: "rotary")) -> Router {
        let owner = owner ?? ModelOwner(model: nil, name: "none", queueLimit: configuration.modelQueueSize)
        var routes = HealthRoutes.routes()
        routes.append(Route("GET", "/metrics", handler: .inline { _ in
            .text(metrics.exposition() + owner.exposition, contentType: "text/plain; version=0.0.4")
        }))
        routes += RotateRoutes.routes(configuration: configuration, owner: owner)
        routes += AttentionRoutes.routes(configuration: configuration, owner: owner)
        routes += GenerateRoutes.routes(owner: owner, configuration: configuration)
        routes += CompletionsRoutes.routes(owner: owner, configuration: configuration)
        routes += TokenizerRoutes.routes(owner: owner, configuration: configuration)
        return Router(routes: routes, policy: policy, logger: logger)
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
