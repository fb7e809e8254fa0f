import Foundation
import RotaryHTTP

/// `GET /health` and `GET /openapi.yaml`: cheap, answered inline.
enum HealthRoutes {
    static func routes() -> [Route] {
        let spec = OpenAPIDocument.bytes
        return [
            // A constant body and a closure that captures nothing: a body or closure context shared by both
            // server threads would have its reference count bounced between the cores on every call.
            Route("GET", "/health", handler: .inline { _ in .json(healthBody) }),
            Route("GET", "/openapi.yaml", handler: .inline { _ in
                Response(status: 200, contentType: "application/yaml", body: spec)
            }),
        ]
    }
}

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
