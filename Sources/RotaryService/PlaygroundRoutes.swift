import Foundation
import RotaryHTTP

/// The playground: the static page at `/` and its files under `/playground/`, from the package resources
/// (`Resources/playground`). Every file is an exact route, listed when the table is built.
enum PlaygroundRoutes {
    /// Everything the page loads comes from this server; nothing inline, no other origin (no CDN, no fonts).
    static let contentSecurityPolicy = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        + "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

    static let securityHeaders: [(name: String, value: String)] = [
        ("Content-Security-Policy", contentSecurityPolicy), ("Referrer-Policy", "no-referrer"),
    ]

    /// The page's files: `index.html` at `/`, every other file at `/playground/NAME`.
    static let assets: [StaticAsset] = {
        guard let folder = Bundle.module.url(forResource: "playground", withExtension: nil),
              let names = try? FileManager.default.contentsOfDirectory(atPath: folder.path) else { return [] }
        return names.sorted().compactMap { name in
            guard let type = StaticAsset.contentType(forFileName: name),
                  let data = FileManager.default.contents(atPath: folder.appendingPathComponent(name).path) else { return nil }
            return StaticAsset(path: name == "index.html" ? "/" : "/playground/" + name, contentType: type, body: [UInt8](data))
        }
    }()

    /// The paths served; they need no API key (the page asks for the key itself) and answer while the model loads.
    static var paths: Set<String> { Set(assets.map(\.path)) }

    static func routes() -> [Route] {
        StaticAssets.routes(assets, securityHeaders: securityHeaders)
    }
}
