import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif
import Testing
import RotaryService
import RotaryTestSupport

/// `/attention` and `/attention/decay` through the service's router.
@Suite struct AttentionEndpointTests {
    static let q: [[Float]] = [[1, 0, 0, 1], [0, 1, 1, 0], [1, 1, 0, 0]]

    @Test func causalWeightsAndShapes() async throws {
        let reply = try await call("POST", "/attention", json: [
            "queries": [Self.q, Self.q], "keys": [Self.q], "values": [[[1, 2], [3, 4], [5, 6]]], "causal": true,
            "return": ["weights", "output"],
        ])
        #expect(reply.status == 200)
        let weights = reply.object["weights"] as! [[[Double]]]
        #expect(weights.count == 2 && weights[0].count == 3 && weights[0][0].count == 3)
        #expect(weights[0][0] == [1, 0, 0])
        for row in weights.flatMap({ $0 }) { #expect(abs(row.reduce(0, +) - 1) < 1e-6) }
        let shape = reply.object["shape"] as! [String: Int]
        #expect(shape == ["heads": 2, "kv_heads": 1, "seq_q": 3, "seq_k": 3, "head_dim": 4, "value_dim": 2])
        #expect((reply.object["output"] as! [[[Double]]])[1][0] == [1, 2])
        #expect(reply.object["scores"] == nil)
    }

    @Test func twoDimensionalInputGivesTwoDimensionalAnswers() async throws {
        let reply = try await call("POST", "/attention", json: ["queries": Self.q, "keys": Self.q, "return": ["scores"],
                                                                  "position_encoding": ["type": "none"]])
        let scores = reply.object["scores"] as! [[Double]]
        #expect(abs(scores[0][0] - 1) < 1e-6)   // (1·1 + 1·1) / √4
    }

    @Test(arguments: [
        (#"{"queries": [[1, 0]], "keys": [[1, 0, 0]]}"#, "keys", "components"),
        (#"{"queries": [[1, 0]], "keys": [[1, 0], [0, 1]], "values": [[1]]}"#, "values", "rows"),
        (#"{"queries": [[[1, 0]], [[1, 0]], [[0, 1]]], "keys": [[[1, 0]], [[0, 1]]]}"#, "keys", "multiple"),
        (#"{"queries": [[1, 0, 0]], "keys": [[1, 0, 0]]}"#, "queries", "even"),
        (#"{"queries": [[1, 0, 1e39]], "keys": [[1, 0, 0]], "position_encoding": {"type": "none"}}"#, "queries[0][2]", "float32"),
        (#"{"queries": [[1, 0]], "keys": [[1, 0]], "positions_q": [-3]}"#, "positions_q[0]", "whole number"),
        (#"{"queries": [[1, 0]], "keys": [[1, 0]], "return": ["output"]}"#, "values", "needs values"),
        (#"{"queries": [[1, 0]], "keys": [[1, 0]], "position_encoding": {"type": "alibi"}}"#, "position_encoding.type", "rope, sinusoidal, none"),
        (#"{"queries": [[1, 0]], "keys": [[1, 0]], "position_encoding": {"type": "none", "rope_theta": 5}}"#, "position_encoding.rope_theta", "unknown field"),
        (#"{"queries": [[1, 0]], "keys": [[1, 0]], "scale": "big"}"#, "scale", "number"),
        (#"{"keys": [[1, 0]]}"#, "queries", "required"),
    ] as [(String, String, String)])
    func badInputIs400NamingTheField(body: String, param: String, message: String) async throws {
        let reply = try await call("POST", "/attention", body: Array(body.utf8))
        #expect(reply.status == 400, "\(body)")
        #expect(reply.error["param"] as? String == param, "\(reply.error)")
        #expect((reply.error["message"] as? String ?? "").contains(message), "\(reply.error)")
    }

    @Test func enormousScoreTensorIs413BeforeAllocation() async throws {
        var limits = ServiceConfiguration()
        limits.maxScoreElements = 100
        let rows = [[Float]](repeating: [1, 0], count: 11)
        let reply = try await call("POST", "/attention", json: ["queries": rows, "keys": rows], configuration: limits)
        #expect(reply.status == 413)
        #expect((reply.error["message"] as? String ?? "").contains("121"))
    }

    @Test func decayCurves() async throws {
        let reply = try await call("POST", "/attention/decay", json: ["head_dim": 16, "max_distance": 32, "samples": 16])
        #expect(reply.status == 200)
        let bound = reply.object["upper_bound"] as! [Double]
        #expect(bound.count == 33 && bound[0] == 1)
        #expect((reply.object["distance"] as! [Int]) == Array(0...32))
        #expect((reply.object["mean_dot"] as! [Double]).count == 33)
        let odd = try await call("POST", "/attention/decay", json: ["head_dim": 15])
        #expect(odd.status == 400 && odd.error["param"] as? String == "head_dim")
        let far = try await call("POST", "/attention/decay", json: ["max_distance": 65_537])
        #expect(far.status == 400 && far.error["param"] as? String == "max_distance")
        // The largest request the schema allows fits the default term limit; a lower limit refuses it.
        let largest: [String: Any] = ["head_dim": 512, "max_distance": 65_536, "samples": 4_096]
        #expect(try await call("POST", "/attention/decay", json: largest).status == 200)
        var strict = ServiceConfiguration()
        strict.maxDecayTerms = 1 << 20
        let refused = try await call("POST", "/attention/decay", json: largest, configuration: strict)
        #expect(refused.status == 400 && refused.error["param"] as? String == "max_distance")
    }

    /// The pictures are standalone SVG documents an XML parser accepts.
    @Test(arguments: ["/attention", "/attention/decay"])
    func svgAnswersAreValidXML(path: String) async throws {
        let body: Any = path == "/attention" ? ["queries": [Self.q], "keys": [Self.q], "causal": true] as [String: Any] : ["max_distance": 64] as [String: Any]
        let reply = try await call("POST", path, json: body, accept: "image/svg+xml")
        #expect(reply.status == 200)
        #expect(reply.header("content-type") == "image/svg+xml")
        final class Root: NSObject, XMLParserDelegate {
            var name: String?, namespace: String?
            func parser(_ parser: XMLParser, didStartElement element: String, namespaceURI: String?, qualifiedName: String?, attributes: [String: String] = [:]) {
                if name == nil { name = element; namespace = attributes["xmlns"] }
            }
        }
        let parser = XMLParser(data: Data(reply.body))
        let root = Root()
        parser.delegate = root
        #expect(parser.parse(), "not well-formed: \(String(describing: parser.parserError))")
        #expect(root.name == "svg" && root.namespace == "http://www.w3.org/2000/svg")
        let text = String(decoding: reply.body, as: UTF8.self)
        #expect(text.contains(path == "/attention" ? "query" : "relative distance"))
    }
}

/// The decay plot in docs/ is the server's own answer, not a drawing made elsewhere.
@Suite struct DocsPictureTests {
    @Test func committedDecayPlotIsWhatTheServerDraws() async throws {
        let reply = try await call("POST", "/attention/decay", json: ["head_dim": 128, "rope_theta": 10000, "max_distance": 1024],
                                   accept: "image/svg+xml")
        let committed = try Data(contentsOf: repositoryRoot().appendingPathComponent("docs/decay.svg"))
        let same = reply.body == [UInt8](committed)
        #expect(same, "docs/decay.svg is stale: regenerate it with the README's decay.svg example")
    }
}
