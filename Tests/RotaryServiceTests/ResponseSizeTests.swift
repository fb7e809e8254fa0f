import Foundation
import Testing
import RotaryHTTP
import RotaryModel
@testable import RotaryService

/// `max_response_bytes`: answers that could be larger are refused with 413 before any work, from an
/// upper bound on their size; the bound is never below the real answer, and normal requests pass.
@Suite struct ResponseSizeTests {
    static func limited(_ bytes: Int) -> ServiceConfiguration {
        var configuration = ServiceConfiguration()
        configuration.maxResponseBytes = bytes
        return configuration
    }

    static func expectRefused(_ reply: Response, param: String, _ context: String) {
        #expect(reply.status == 413, "\(context): \(reply.status)")
        #expect(reply.error["type"] as? String == "response_too_large", "\(context): \(reply.error)")
        #expect((reply.error["message"] as? String ?? "").contains("max_response_bytes"), "\(context)")
        #expect(reply.error["param"] as? String == param, "\(context): \(reply.error)")
    }

    /// The issue's request: 82 KB, 4,096 two-dimensional queries and keys, scores and weights (a 415 MB
    /// answer, built whole, before): refused at once.
    @Test func theIssuesAttentionRequestIsRefusedBeforeTheWork() async throws {
        let rows: [[Float]] = (0..<4096).map { (i: Int) -> [Float] in
            let a = Float(i % 7) * 0.25, b = 1 - Float(i % 5) * 0.5
            return [a, b]
        }
        let start = Date()
        let reply = try await call("POST", "/attention", json: ["queries": rows, "keys": rows, "return": ["scores", "weights"]])
        Self.expectRefused(reply, param: "return", "4096² scores and weights")
        #expect(Date().timeIntervalSince(start) < 5, "took \(Date().timeIntervalSince(start)) s")
    }

    /// Many heads make many SVG panels, each with its labels.
    @Test func anSVGOfManyHeadsIsRefused() async throws {
        let heads: [[[Float]]] = (0..<65_536).map { (i: Int) -> [[Float]] in [[Float(i % 3), 1]] }
        let reply = try await call("POST", "/attention", json: ["queries": heads, "keys": heads], accept: "image/svg+xml")
        Self.expectRefused(reply, param: "queries", "65,536 heads as SVG")
    }

    /// Normal requests pass at the default limit; and with the limit one byte below their real answer
    /// they are refused: the bound is at least the answer (conservative) for every kind of answer.
    @Test func normalAnswersPassAndTheBoundIsNeverBelowTheAnswer() async throws {
        let vectors: [[Float]] = (0..<6).map { (r: Int) -> [Float] in (0..<8).map { (c: Int) -> Float in Float(r * 8 + c) * -0.3183 } }
        let yarn: [String: Any] = ["rope_type": "yarn", "factor": 4, "original_max_position_embeddings": 2048]
        let cases: [(String, [String: Any], String?, String)] = [
            ("/rotate", ["vectors": vectors, "positions": [0, 1, 2, 1000, 16_777_214, 5], "rope": yarn], nil, "vectors"),
            ("/rotate", ["vectors": vectors, "rope": yarn, "return": ["cos", "sin", "inv_freq"]], nil, "return"),
            ("/rotate", ["vectors": [vectors, vectors]], nil, "vectors"),
            ("/attention", ["queries": vectors, "keys": vectors, "values": vectors, "return": ["scores", "weights", "output"],
                            "positions_q": [9, 10, 11, 12, 13, 16_777_215], "positions_k": [0, 1, 2, 3, 4, 5]], nil, "return"),
            ("/attention", ["queries": [vectors, vectors], "keys": [vectors], "causal": true], nil, "return"),
            ("/attention", ["queries": vectors, "keys": vectors], "image/svg+xml", "queries"),
            ("/attention", ["queries": [vectors, vectors, vectors], "keys": [vectors], "causal": true], "image/svg+xml", "queries"),
        ]
        for (path, body, accept, param) in cases {
            let reply = try await call("POST", path, json: body, accept: accept)
            #expect(reply.status == 200, "\(path) \(body)")
            let refused = try await call("POST", path, json: body, accept: accept, configuration: Self.limited(reply.body.count - 1))
            Self.expectRefused(refused, param: param, "\(path) \(body) at \(reply.body.count - 1) bytes")
        }
        let npyBody = RotateRequestTests.npy((0..<48).map { Float($0) * 1e-7 }, shape: [6, 8])
        let npy = try await call("POST", "/rotate", body: npyBody, contentType: "application/x-npy", accept: "application/x-npy")
        #expect(npy.status == 200)
        let refused = try await call("POST", "/rotate", body: npyBody, contentType: "application/x-npy", accept: "application/x-npy",
                                     configuration: Self.limited(npy.body.count - 1))
        Self.expectRefused(refused, param: "vectors", ".npy")
    }

    func post(_ path: String, _ json: Any, configuration: ServiceConfiguration = ServiceConfiguration()) async throws -> Response {
        let bytes = [UInt8](try JSONSerialization.data(withJSONObject: json))
        let request = Request(method: "POST", path: path, headers: [("Content-Type", "application/json")], body: bytes)
        return await Service.router(configuration: configuration, owner: tinyModelOwner()).respond(to: request)
    }

    /// Many prompts × max_tokens × logprobs: refused before any generation; normal model answers pass,
    /// and their bound is never below them.
    @Test func modelAnswersAreBoundedBeforeTheWork() async throws {
        let many: [String: Any] = ["prompt": Array(repeating: "Once upon", count: 16), "max_tokens": 100, "logprobs": 5, "echo": true]
        let start = Date()
        let refused = try await post("/v1/completions", many, configuration: Self.limited(1 << 20))
        Self.expectRefused(refused, param: "prompt", "16 prompts × 100 tokens × 5 logprobs at 1 MiB")
        #expect(Date().timeIntervalSince(start) < 2)
        for (path, body, param) in [
            ("/v1/completions", ["prompt": ["Hello", "The quick"], "max_tokens": 6, "logprobs": 3, "echo": true, "temperature": 0] as [String: Any], "prompt"),
            ("/v1/completions", ["prompt": [[1, 2, 3]], "max_tokens": 4, "echo": true], "prompt"),
            ("/generate", ["prompt": "Hello", "max_tokens": 8, "logprobs": 4, "echo": true, "candidates": [" world", "\"\n\u{1}"]], "max_tokens"),
            ("/generate", ["prompt": "Hello", "max_tokens": 0], "max_tokens"),
        ] {
            let reply = try await post(path, body)
            #expect(reply.status == 200, "\(path) \(body)")
            Self.expectRefused(try await post(path, body, configuration: Self.limited(reply.body.count - 1)), param: param, "\(path) \(body)")
        }
    }
}
