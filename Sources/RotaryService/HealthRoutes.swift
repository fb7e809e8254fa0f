import Foundation
import RotaryHTTP
import RotaryJSON

/// `GET /health` and `GET /openapi.yaml`: cheap, answered inline.
enum HealthRoutes {
    static func routes() -> [Route] {
        var writer = JSONWriter()
        writer.raw("{")
        writer.key("status"); writer.string("ok"); writer.comma()
        writer.key("version"); writer.string(rotaryVersion)
        writer.raw("}")
        let healthBody = writer.bytes
        let spec = OpenAPIDocument.bytes
        return [
            Route("GET", "/health", handler: .inline { _ in .json(healthBody) }),
            Route("GET", "/openapi.yaml", handler: .inline { _ in
                Response(status: 200, headers: [("Content-Type", "application/yaml")], body: spec)
            }),
        ]
    }
}

/// The OpenAPI description shipped in the package resources (the top-level `openapi.yaml`).
public enum OpenAPIDocument {
    public static let bytes: [UInt8] = {
        guard let url = Bundle.module.url(forResource: "openapi", withExtension: "yaml"),
              let data = try? Data(contentsOf: url) else { return [] }
        return [UInt8](data)
    }()
}
