import Testing
@testable import RotaryHTTP

/// The route table, exercised without a socket.
@Suite struct RouterTests {
    struct Boom: Error {}

    let router = Router(routes: [
        Route("GET", "/health", handler: .inline { _ in .json(Array(#"{"status":"ok"}"#.utf8)) }),
        Route("POST", "/echo", consumes: ["application/json"], handler: .inline { .json($0.body) }),
        Route("PUT", "/echo", handler: .inline { _ in Response(status: 204) }),
        Route("POST", "/fail", handler: .inline { _ in throw HTTPError.badRequest("bad field", param: "x") }),
        Route("POST", "/bug", handler: .worker { _ in throw Boom() }),
    ])

    @Test func routesByMethodAndPath() async {
        let reply = await router.respond(to: Request(method: "GET", path: "/health"))
        #expect(reply.status == 200)
        #expect(String(decoding: reply.body, as: UTF8.self) == #"{"status":"ok"}"#)
        let head = await router.respond(to: Request(method: "HEAD", path: "/health"))
        #expect(head.status == 200)
    }

    @Test func unknownPathIs404JSON() async {
        let reply = await router.respond(to: Request(method: "GET", path: "/nowhere"))
        #expect(reply.status == 404)
        #expect(reply.header("content-type") == "application/json")
        #expect(String(decoding: reply.body, as: UTF8.self)
            == #"{"error":{"message":"no route for path '/nowhere'","type":"not_found","param":null,"code":404}}"#)
    }

    @Test func wrongMethodIs405WithAllow() async {
        let reply = await router.respond(to: Request(method: "DELETE", path: "/echo"))
        #expect(reply.status == 405)
        #expect(reply.header("Allow") == "POST, PUT")
    }

    @Test func wrongContentTypeIs415() async {
        let reply = await router.respond(to: Request(method: "POST", path: "/echo", headers: [("Content-Type", "text/plain")]))
        #expect(reply.status == 415)
        let ok = await router.respond(to: Request(method: "POST", path: "/echo",
                                                   headers: [("Content-Type", "application/json; charset=utf-8")], body: [0x31]))
        #expect(ok.status == 200 && ok.body == [0x31])
    }

    @Test func thrownHTTPErrorKeepsStatusAndParam() async {
        let reply = await router.respond(to: Request(method: "POST", path: "/fail"))
        #expect(reply.status == 400)
        #expect(String(decoding: reply.body, as: UTF8.self).contains(#""param":"x""#))
    }

    @Test func otherErrorsAre500() async {
        let reply = await router.respond(to: Request(method: "POST", path: "/bug"))
        #expect(reply.status == 500)
        #expect(String(decoding: reply.body, as: UTF8.self).contains(#""type":"internal_error""#))
    }

    @Test func errorMessagesAreEscaped() {
        let error = HTTPError.badRequest("quote \" backslash \\ newline \n tab \t bell \u{7}")
        #expect(String(decoding: error.body, as: UTF8.self)
            == #"{"error":{"message":"quote \" backslash \\ newline \n tab \t bell \u0007","type":"invalid_request_error","param":null,"code":400}}"#)
    }

    @Test func acceptAndMediaTypeParsing() {
        let request = Request(method: "POST", path: "/", headers: [("Accept", "text/html, Image/SVG+XML; q=0.5, application/x-npy;q=0"),
                                                                  ("Content-Type", " Application/JSON ; charset=utf-8")])
        #expect(request.accepts("image/svg+xml"))
        #expect(!request.accepts("application/json"))
        #expect(!request.accepts("application/x-npy"), "q=0 means not acceptable")
        #expect(request.mediaType == "application/json")
        // A wildcard picks no particular representation: the route's default answers.
        let wildcard = Request(method: "POST", path: "/", headers: [("Accept", "*/*, image/*")])
        #expect(!wildcard.accepts("image/svg+xml"))
    }

    @Test func configurationValidation() {
        var configuration = ServerConfiguration()
        configuration.threads = 0
        #expect(throws: ServerError.self) { try configuration.validate() }
        configuration = ServerConfiguration()
        configuration.port = 70000
        #expect(throws: ServerError.self) { try configuration.validate() }
        #expect(throws: ServerError.invalidHost("not-an-address")) {
            _ = try ListeningSocket(host: "not-an-address", port: 0)
        }
    }
}

@Suite struct AccessPolicyTests {
    let routes = [
        Route("GET", "/health", handler: .inline { _ in .json(Array("{}".utf8)) }),
        Route("POST", "/work", handler: .inline { _ in .json(Array("{}".utf8)) }),
    ]

    @Test func apiKeyGuardsEverythingButHealth() async {
        let router = Router(routes: routes, policy: AccessPolicy(apiKey: "s3cret"))
        let open = await router.respond(to: Request(method: "GET", path: "/health"))
        #expect(open.status == 200)
        let missing = await router.respond(to: Request(method: "POST", path: "/work"))
        #expect(missing.status == 401 && missing.header("WWW-Authenticate") == "Bearer")
        #expect(String(decoding: missing.body, as: UTF8.self).contains("\"type\":\"unauthorized\""))
        let wrong = await router.respond(to: Request(method: "POST", path: "/work", headers: [("Authorization", "Bearer s3creT")]))
        #expect(wrong.status == 401)
        let right = await router.respond(to: Request(method: "POST", path: "/work", headers: [("Authorization", "Bearer s3cret")]))
        #expect(right.status == 200)
        // Without a key, any (or an empty) bearer header is accepted.
        let unguarded = Router(routes: routes)
        #expect(await unguarded.respond(to: Request(method: "POST", path: "/work", headers: [("Authorization", "Bearer ")])).status == 200)
    }

    @Test func constantTimeComparison() {
        #expect(AccessPolicy.constantTimeEqual(Array("abc".utf8), Array("abc".utf8)))
        #expect(!AccessPolicy.constantTimeEqual(Array("abc".utf8), Array("abd".utf8)))
        #expect(!AccessPolicy.constantTimeEqual(Array("abc".utf8), Array("abcd".utf8)))
        #expect(!AccessPolicy.constantTimeEqual([], Array("a".utf8)))
    }

    @Test func corsIsOffUnlessAnOriginIsGiven() async {
        let closed = Router(routes: routes)
        let plain = await closed.respond(to: Request(method: "GET", path: "/health"))
        #expect(plain.header("Access-Control-Allow-Origin") == nil)
        #expect(await closed.respond(to: Request(method: "OPTIONS", path: "/work")).status == 405)
        let open = Router(routes: routes, policy: AccessPolicy(corsOrigin: "https://example.org"))
        let reply = await open.respond(to: Request(method: "GET", path: "/health"))
        #expect(reply.header("Access-Control-Allow-Origin") == "https://example.org")
        let preflight = await open.respond(to: Request(method: "OPTIONS", path: "/work"))
        #expect(preflight.status == 204)
        #expect(preflight.header("Access-Control-Allow-Methods") == "POST, OPTIONS")
    }
}
