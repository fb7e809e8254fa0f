import Logging
import RotaryHTTP

/// Builds the route table: the one place where HTTP meets the numerics.
public enum Service {
    public static func router(configuration: ServiceConfiguration = ServiceConfiguration(),
                              logger: Logger = Logger(label: "rotary")) -> Router {
        var routes = HealthRoutes.routes()
        routes += RotateRoutes.routes(configuration: configuration)
        return Router(routes: routes, logger: logger)
    }
}
