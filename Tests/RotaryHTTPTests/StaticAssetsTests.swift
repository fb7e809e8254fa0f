import Testing
@testable import RotaryHTTP

/// Files served from memory: exact routes, ETag revalidation, the headers every answer carries.
@Suite struct StaticAssetsTests {
    let assets = [
        StaticAsset(path: "/", contentType: "text/html; charset=utf-8", body: Array("<!doctype html>".utf8)),
        StaticAsset(path: "/files/app.js", contentType: "text/javascript; charset=utf-8", body: Array("let a = 1;".utf8)),
    ]
    var router: Router { Router(routes: StaticAssets.routes(assets, securityHeaders: [("Content-Security-Policy", "default-src 'none'")])) }

    @Test func servesEachFileWithItsTypeAndHeaders() async {
        for asset in assets {
            let reply = await router.respond(to: Request(method: "GET", path: asset.path))
            #expect(reply.status == 200 && reply.body == asset.body)
            #expect(reply.header("Content-Type") == asset.contentType)
            #expect(reply.header("ETag") == asset.entityTag)
            #expect(reply.header("Cache-Control") == "no-cache")
            #expect(reply.header("X-Content-Type-Options") == "nosniff")
            #expect(reply.header("Content-Security-Policy") == "default-src 'none'")
        }
    }

    /// FNV-1a 64 of the bytes, quoted: a known value, and different bytes give a different tag.
    @Test func entityTagIsTheHashOfTheBytes() {
        #expect(StaticAsset(path: "/", contentType: "x", body: []).entityTag == "\"cbf29ce484222325\"")
        #expect(StaticAsset(path: "/", contentType: "x", body: Array("a".utf8)).entityTag == "\"af63dc4c8601ec8c\"")
        #expect(assets[0].entityTag != assets[1].entityTag)
    }

    @Test func revalidationWithTheCurrentTagIs304WithoutBody() async {
        let tag = assets[1].entityTag
        for condition in [tag, "W/\(tag)", "\"other\", \(tag)", "*"] {
            let reply = await router.respond(to: Request(method: "GET", path: "/files/app.js", headers: [("If-None-Match", condition)]))
            #expect(reply.status == 304 && reply.body.isEmpty, "If-None-Match: \(condition)")
            #expect(reply.header("ETag") == tag)
        }
        let stale = await router.respond(to: Request(method: "GET", path: "/files/app.js", headers: [("If-None-Match", "\"0123\"")]))
        #expect(stale.status == 200 && stale.body == assets[1].body)
    }

    /// No path is mapped onto a file system: anything but the exact paths is the router's 404.
    @Test func otherPathsAre404() async {
        for path in ["/files/", "/files", "/files/../files/app.js", "/files/%2e%2e/app.js", "/files/app.js/", "/files//app.js", "/index.html"] {
            let reply = await router.respond(to: Request(method: "GET", path: path))
            #expect(reply.status == 404, "\(path)")
        }
        let post = await router.respond(to: Request(method: "POST", path: "/files/app.js"))
        #expect(post.status == 405)
        let head = await router.respond(to: Request(method: "HEAD", path: "/"))
        #expect(head.status == 200)
    }

    @Test func mediaTypesByExtension() {
        #expect(StaticAsset.contentType(forFileName: "a.JS") == "text/javascript; charset=utf-8")
        #expect(StaticAsset.contentType(forFileName: "page.html") == "text/html; charset=utf-8")
        #expect(StaticAsset.contentType(forFileName: "icon.svg") == "image/svg+xml")
        #expect(StaticAsset.contentType(forFileName: "notes.txt") == nil)
        #expect(StaticAsset.contentType(forFileName: "Makefile") == nil)
    }
}
