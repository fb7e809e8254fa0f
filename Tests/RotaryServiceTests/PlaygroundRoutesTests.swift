import Foundation
import Testing
import RotaryHTTP
@testable import RotaryService
import RotaryTestSupport

/// The playground's files as the service serves them: every file of the resource folder, the bytes on disk,
/// open under an API key, answered while the model loads.
@Suite struct PlaygroundRoutesTests {
    var folder: URL { repositoryRoot().appendingPathComponent("Sources/RotaryService/Resources/playground") }

    @Test func everyFileOfTheFolderIsServedAsItIsOnDisk() async throws {
        let names = try FileManager.default.contentsOfDirectory(atPath: folder.path).sorted()
        #expect(names.contains("index.html") && names.count >= 5)
        let router = Service.router()
        for name in names {
            let path = name == "index.html" ? "/" : "/playground/\(name)"
            let reply = await router.respond(to: Request(method: "GET", path: path))
            let disk = try Data(contentsOf: folder.appendingPathComponent(name))
            #expect(reply.status == 200, "\(path)")
            #expect(reply.body == [UInt8](disk), "\(path) differs from the file")
            #expect(reply.header("Content-Type") == StaticAsset.contentType(forFileName: name), "\(path)")
            #expect(reply.header("Content-Security-Policy") == PlaygroundRoutes.contentSecurityPolicy)
        }
        #expect(Set(PlaygroundRoutes.paths) == Set(names.map { $0 == "index.html" ? "/" : "/playground/\($0)" }))
    }

    /// The policy allows this origin only: no inline script or style, no other host.
    @Test func contentSecurityPolicyAllowsOnlyThisOrigin() {
        let policy = PlaygroundRoutes.contentSecurityPolicy
        #expect(policy.contains("default-src 'none'") && policy.contains("script-src 'self'") && policy.contains("connect-src 'self'"))
        #expect(!policy.contains("unsafe") && !policy.contains("http"))
    }

    @Test func filesNeedNoKeyButTheAPIDoes() async {
        let router = Service.router(policy: AccessPolicy(apiKey: "k"))
        #expect(await router.respond(to: Request(method: "GET", path: "/")).status == 200)
        #expect(await router.respond(to: Request(method: "GET", path: "/playground/main.js")).status == 200)
        #expect(await router.respond(to: Request(method: "GET", path: "/v1/models")).status == 401)
        let body = Array(#"{"vectors": [[1, 0]]}"#.utf8)
        #expect(await router.respond(to: Request(method: "POST", path: "/rotate", headers: [("Content-Type", "application/json")], body: body)).status == 401)
    }

    /// While the model loads the page answers at once (a model route would wait for the model).
    @Test func answeredWhileTheModelLoads() async {
        let router = Service.loadingRouter(policy: AccessPolicy(apiKey: "k"), readiness: Readiness(.loading), modelRouter: PendingRouter())
        for path in PlaygroundRoutes.paths {
            #expect(Service.pathsAnsweredWhileLoading.contains(path))
            #expect(await router.respond(to: Request(method: "GET", path: path)).status == 200, "\(path)")
        }
    }

    @Test func pathsOutsideTheFilesAre404() async {
        let router = Service.router()
        for path in ["/playground/", "/playground/../openapi.yaml", "/playground/%2e%2e/openapi.yaml", "/playground/index.html",
                     "/index.html", "/playground/main.js/", "/playground/nothing.js"] {
            let reply = await router.respond(to: Request(method: "GET", path: path))
            #expect(reply.status == 404 && reply.header("Content-Type") == "application/json", "\(path)")
        }
    }
}
