import Logging
import RotaryHTTP
import RotaryNumerics

/// Builds the route table: the one place where HTTP meets the numerics.
public enum Service {
    public static func router(configuration: ServiceConfiguration = ServiceConfiguration(),
                              logger: Logger = Logger(label: "rotary")) -> Router {
        var routes = HealthRoutes.routes()
        routes += RotateRoutes.routes(configuration: configuration)
        routes += AttentionRoutes.routes(configuration: configuration)
        return Router(routes: routes, logger: logger)
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
