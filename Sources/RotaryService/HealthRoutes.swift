import Foundation
import RotaryHTTP

/// `GET /health` (liveness), `GET /ready` (readiness) and `GET /openapi.yaml`: cheap, answered inline.
enum HealthRoutes {
    static func routes(readiness: Readiness) -> [Route] {
        let spec = OpenAPIDocument.bytes
        return [
            // A constant body and a closure that captures nothing: a body or closure context shared by both
            // server threads would have its reference count bounced between the cores on every call.
            Route("GET", "/health", handler: .inline { _ in .json(healthBody) }),
            Route("GET", "/ready", handler: .inline { _ in try ready(readiness) }),
            Route("GET", "/openapi.yaml", handler: .inline { _ in
                Response(status: 200, contentType: "application/yaml", body: spec)
            }),
        ]
    }
}

extension HealthRoutes {
    /// 200 while `ready`; 503 while the model loads and once a stop began, so a balancer sends nothing new.
    static func ready(_ readiness: Readiness) throws(HTTPError) -> Response {
        switch readiness.state {
        case .ready:
            return .json(readyBody)
        case .loading:
            throw HTTPError(status: 503, type: "loading", message: "the model is still loading; the server takes requests once /ready answers 200",
                            headers: [("Retry-After", "1")])
        case .draining:
            throw HTTPError(status: 503, type: "draining", message: "the server is stopping: requests in flight finish, new ones belong elsewhere")
        }
    }
}

let readyBody: StaticString = #"{"status":"ready"}"#

/// The `/health` body. A compile-time constant, so answering allocates and copies nothing for it; it repeats
/// `rotaryVersion`, and a test holds the two equal.
let healthBody: StaticString = #"{"status":"ok","version":"0.1.0"}"#

/// The OpenAPI description shipped in the package resources (the top-level `openapi.yaml`).
public enum OpenAPIDocument {
    public static let bytes: [UInt8] = {
        guard let url = Bundle.module.url(forResource: "openapi", withExtension: "yaml"),
              let data = try? Data(contentsOf: url) else { return [] }
        return [UInt8](data)
    }()
}
