import Foundation
import Testing
import Yams
import RotaryHTTP
import RotaryService
import RotaryTestSupport

/// Holds the live server to `openapi.yaml`: every documented operation answers as documented, and
/// nothing undocumented answers.
@Suite struct OpenAPIConformanceTests: @unchecked Sendable {
    let spec: [String: Any]
    let validator: SchemaValidator

    init() throws {
        let text = try String(contentsOf: repositoryRoot().appendingPathComponent("openapi.yaml"), encoding: .utf8)
        spec = try #require(try Yams.load(yaml: text) as? [String: Any])
        validator = SchemaValidator(document: spec)
    }

    /// Every documented operation, a templated path (`/playground/{file}`) once per value of its path
    /// parameter's enum: the server has exact routes only.
    var operations: [(path: String, method: String, operation: [String: Any])] {
        let paths = spec["paths"] as? [String: [String: Any]] ?? [:]
        return paths.flatMap { path, item in
            item.flatMap { method, operation -> [(path: String, method: String, operation: [String: Any])] in
                guard let operation = operation as? [String: Any] else { return [] }
                return Self.expand(path, operation).map { ($0, method.uppercased(), operation) }
            }
        }.sorted { ($0.path, $0.method) < ($1.path, $1.method) }
    }

    static func expand(_ path: String, _ operation: [String: Any]) -> [String] {
        let parameters = operation["parameters"] as? [[String: Any]] ?? []
        guard let parameter = parameters.first(where: { $0["in"] as? String == "path" }),
              let name = parameter["name"] as? String,
              let values = (parameter["schema"] as? [String: Any])?["enum"] as? [String] else { return [path] }
        return values.map { path.replacingOccurrences(of: "{\(name)}", with: $0) }
    }

    @Test func servedDocumentIsTheTopLevelFile() async throws {
        let reply = await Service.router().respond(to: Request(method: "GET", path: "/openapi.yaml"))
        let file = try Data(contentsOf: repositoryRoot().appendingPathComponent("openapi.yaml"))
        #expect(reply.status == 200)
        #expect(reply.body == [UInt8](file))
    }

    /// The health body is a compile-time constant that repeats the version: it must say `rotaryVersion`.
    @Test func healthReportsTheVersion() async throws {
        let reply = await Service.router().respond(to: Request(method: "GET", path: "/health"))
        #expect(reply.status == 200 && reply.header("Content-Type") == "application/json")
        #expect(String(decoding: reply.body, as: UTF8.self) == #"{"status":"ok","version":"\#(rotaryVersion)"}"#)
    }

    @Test func documentedRoutesAreExactlyTheRegisteredOnes() {
        let documented = Set(operations.map { "\($0.method) \($0.path)" })
        let registered = Set(Service.router(owner: tinyModelOwner()).routes.map { "\($0.method) \($0.path)" })
        #expect(documented == registered)
    }

    @Test func everyOperationAnswersAsDocumented() async throws {
        let this = self
        try await onThread { try this.exerciseEveryOperation() }
    }

    func exerciseEveryOperation() throws {
        let server = try TestServer(router: Service.router(configuration: chatConfiguration(), owner: tinyModelOwner()))
        for (path, method, operation) in operations {
            let responses = try #require(operation["responses"] as? [String: Any])
            var requests: [[UInt8]?] = []
            if let content = (operation["requestBody"] as? [String: Any])?["content"] as? [String: Any],
               let json = content["application/json"] as? [String: Any] {
                let examples = (json["examples"] as? [String: [String: Any]])?.values.compactMap { $0["value"] } ?? []
                #expect(!examples.isEmpty, "\(method) \(path) has no JSON request example")
                requests = try examples.map { [UInt8](try JSONSerialization.data(withJSONObject: $0)) }
            } else {
                requests = [nil]
            }
            for body in requests {
                let reply = try server.client().request(method, path, body: body, headers: body == nil ? [:] : ["Content-Type": "application/json"])
                try check(reply, against: responses, label: "\(method) \(path)")
                #expect(reply.status == 200, "\(method) \(path) example answered \(reply.status): \(reply.text)")
            }
            // A method the path does not have: the documented 405.
            let wrong = try server.client().request("PATCH", path)
            #expect(wrong.status == 405)
            try check(wrong, against: responses, label: "PATCH \(path)")
        }
        // Documented error answers of /rotate.
        let rotate = try #require(operations.first { $0.path == "/rotate" }?.operation["responses"] as? [String: Any])
        for (body, type) in [("{\"vectors\": [[1, 2, 3]]}", "application/json"), ("{}", "text/plain"), ("[", "application/json")] {
            let reply = try server.client().request("POST", "/rotate", body: Array(body.utf8), headers: ["Content-Type": type])
            try check(reply, against: rotate, label: "POST /rotate \(body)")
        }
        #expect(try server.client().request("GET", "/undocumented").status == 404)
        #expect(try server.client().request("POST", "/undocumented").status == 404)
        #expect(try server.client().request("GET", "/playground/undocumented.js").status == 404)
    }

    private func check(_ reply: RawHTTPClient.Reply, against responses: [String: Any], label: String) throws {
        guard let documented = responses[String(reply.status)] as? [String: Any] else {
            Issue.record("\(label): status \(reply.status) is not documented (\(reply.text))")
            return
        }
        let response = validator.resolve(documented)
        let contentType = reply.headers["content-type"] ?? ""
        guard let content = response["content"] as? [String: Any], let media = content[contentType] as? [String: Any] else {
            Issue.record("\(label): content type '\(contentType)' not documented for \(reply.status)")
            return
        }
        #expect(reply.headers["x-request-id"] != nil, "\(label): no X-Request-Id")
        guard contentType == "application/json", let schema = media["schema"] as? [String: Any] else { return }
        let body = try JSONSerialization.jsonObject(with: Data(reply.body), options: [.fragmentsAllowed])
        let problems = validator.validate(body, against: schema)
        #expect(problems.isEmpty, "\(label): \(problems)")
    }
}

/// The validator itself must be able to fail.
@Suite struct SchemaValidatorTests {
    @Test func reportsViolations() throws {
        let text = try String(contentsOf: repositoryRoot().appendingPathComponent("openapi.yaml"), encoding: .utf8)
        let validator = SchemaValidator(document: try #require(try Yams.load(yaml: text) as? [String: Any]))
        let errorSchema: [String: Any] = ["$ref": "#/components/schemas/Error"]
        let good: [String: Any] = ["error": ["message": "m", "type": "t", "param": NSNull(), "code": 400]]
        #expect(validator.validate(good, against: errorSchema).isEmpty)
        let missing: [String: Any] = ["error": ["message": "m", "type": "t", "code": 400]]
        #expect(!validator.validate(missing, against: errorSchema).isEmpty)
        let wrongType: [String: Any] = ["error": ["message": 1, "type": "t", "param": NSNull(), "code": 400]]
        #expect(!validator.validate(wrongType, against: errorSchema).isEmpty)
        let extra: [String: Any] = ["error": ["message": "m", "type": "t", "param": NSNull(), "code": 400, "x": 1]]
        #expect(!validator.validate(extra, against: errorSchema).isEmpty)
        let health: [String: Any] = ["$ref": "#/components/schemas/Health"]
        #expect(!validator.validate(["status": "down", "version": "1"], against: health).isEmpty)
        let tensor: [String: Any] = ["$ref": "#/components/schemas/Tensor"]
        #expect(validator.validate([[1, 2]], against: tensor).isEmpty)
        #expect(!validator.validate([["a"]], against: tensor).isEmpty)
    }
}
