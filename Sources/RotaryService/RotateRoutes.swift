import RotaryHTTP
enum RotateRoutes { static func routes(configuration: ServiceConfiguration) -> [Route] { [] } }
