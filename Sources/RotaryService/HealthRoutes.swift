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
                Response(status: 200, contentType: "application/yaml", body: spec)
            }),
        ]
    }
}

/// `{"status":"ok","version":"<rotaryVersion>"}`, copied in three memcpys (appending a String's UTF-8 view
/// goes byte by byte).
func healthBody() -> [UInt8] {
    let head: StaticString = #"{"status":"ok","version":""#, tail: StaticString = #""}"#
    return rotaryVersion.utf8.withContiguousStorageIfAvailable { version in
        [UInt8](unsafeUninitializedCapacity: head.utf8CodeUnitCount + version.count + tail.utf8CodeUnitCount) { buffer, count in
            let start = buffer.baseAddress!
            start.update(from: head.utf8Start, count: head.utf8CodeUnitCount)
            if let base = version.baseAddress { (start + head.utf8CodeUnitCount).update(from: base, count: version.count) }
            (start + head.utf8CodeUnitCount + version.count).update(from: tail.utf8Start, count: tail.utf8CodeUnitCount)
            count = buffer.count
        }
    } ?? Array((head.description + rotaryVersion + tail.description).utf8)
}

/// The OpenAPI description shipped in the package resources (the top-level `openapi.yaml`).
public enum OpenAPIDocument {
    public static let bytes: [UInt8] = {
        guard let url = Bundle.module.url(forResource: "openapi", withExtension: "yaml"),
              let data = try? Data(contentsOf: url) else { return [] }
        return [UInt8](data)
    }()
}
