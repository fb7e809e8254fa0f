import Foundation
import RotaryHTTP

/// `GET /health` and `GET /openapi.yaml`: cheap, answered inline.
enum HealthRoutes {
    static func routes() -> [Route] {
        let spec = OpenAPIDocument.bytes
        return [
            // Built per request from literals, capturing nothing: a body or closure context shared by both
            // server threads would have its reference count bounced between the cores on every call.
            Route("GET", "/health", handler: .inline { _ in .json(healthBody()) }),
            Route("GET", "/openapi.yaml", handler: .inline { _ in
                Response(status: 200, headers: [("Content-Type", "application/yaml")], body: spec)
            }),
        ]
    }
}

/// `{"status":"ok","version":"<rotaryVersion>"}`.
func healthBody() -> [UInt8] {
    var body: [UInt8] = []
    body.reserveCapacity(48)
    body += #"{"status":"ok","version":""#.utf8
    body += rotaryVersion.utf8
    body += #""}"#.utf8
    return body
}

/// The OpenAPI description shipped in the package resources (the top-level `openapi.yaml`).
public enum OpenAPIDocument {
    public static let bytes: [UInt8] = {
        guard let url = Bundle.module.url(forResource: "openapi", withExtension: "yaml"),
              let data = try? Data(contentsOf: url) else { return [] }
        return [UInt8](data)
    }()
}
