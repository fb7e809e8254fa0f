import Foundation
import Testing
import RotaryHTTP
import RotaryService
import RotaryTestSupport

/// Multi-axis `/rotate`: `rope.axes` with `[rows][axes]` or grid positions, against the reference goldens
/// (Tests/RotaryNumericsTests/Fixtures/multi-axis-rope.json), and every bad input named.
@Suite struct RotateAxesTests {
    nonisolated(unsafe) static let golden: [[String: Any]] = {
        let url = repositoryRoot().appendingPathComponent("Tests/RotaryNumericsTests/Fixtures/multi-axis-rope.json")
        let document = (try? JSONSerialization.jsonObject(with: Data(contentsOf: url))) as? [String: Any]
        return document?["cases"] as? [[String: Any]] ?? []
    }()

    @Test(arguments: golden.map { $0["id"] as! String })
    func rotatesAsTheReference(id: String) async throws {
        let c = Self.golden.first { $0["id"] as? String == id }!
        var rope = c["rope"] as! [String: Any]
        rope["layout"] = c["layout"]
        rope["axes"] = c["axes"]
        // Grid cases send the grid, the others their explicit [rows][axes] positions.
        let positions: Any = c["grid"] ?? c["positions"]!
        // One head as [seq][dim]; mixed frequencies (one set per head) as [heads][seq][dim].
        let heads = c["q"] as! [[[NSNumber]]]
        let vectors: Any = heads.count == 1 ? heads[0] : heads
        let reply = try await call("POST", "/rotate", json: ["vectors": vectors, "positions": positions, "rope": rope])
        #expect(reply.status == 200, "\(reply.error)")
        let rows = (c["positions"] as! [[NSNumber]]).map { $0.map(\.doubleValue) }
        #expect((reply.object["positions"] as? [[NSNumber]])?.map { $0.map(\.doubleValue) } == rows)
        func flat(_ any: Any?) -> [Float] {
            if let matrix = any as? [[NSNumber]] { return matrix.joined().map(\.floatValue) }
            return ((any as? [[[NSNumber]]]) ?? []).joined().joined().map(\.floatValue)
        }
        let expected = (c["q_rot"] as! [[[NSNumber]]]).joined().joined().map(\.floatValue)
        let got = flat(reply.object["vectors"]), dim = c["head_dim"] as! Int
        #expect(got.count == expected.count)
        // The golden tolerance, bounded generously by the row's coordinates (pixel and mixed frequencies reach ~400).
        for (i, (a, b)) in zip(got, expected).enumerated() {
            let row = rows[(i / dim) % rows.count]
            #expect(abs(a - b) <= 1e-5 + 4e-7 * 400 * Float(row.map(abs).reduce(0, +) + 1), "\(id) value \(i)")
        }
        let back = try await call("POST", "/rotate", json: ["vectors": reply.object["vectors"]!, "positions": positions,
                                                            "rope": rope, "inverse": true])
        for (a, b) in zip(flat(back.object["vectors"]), flat(vectors)) { #expect(abs(a - b) <= 2e-6) }
    }

    static let vector: [Float] = (0..<16).map { Float($0) / 8 - 1 }

    nonisolated(unsafe) static let badRequests: [(String, [String: Any], Int, String)] = [
        ("sections that do not sum to the pairs", ["positions": [[0, 1, 2]], "rope": ["axes": ["sections": [2, 3, 2]]]], 400, "rope.axes.sections"),
        ("axes_dim not summing to head_dim", ["positions": [[0, 1]], "rope": ["axes": ["axes_dim": [8, 6]]]], 400, "rope.axes.axes_dim"),
        ("both sections and axes_dim", ["positions": [[0, 1]], "rope": ["axes": ["sections": [4, 4], "axes_dim": [8, 8]]]], 400, "rope.axes"),
        ("an unknown axes key", ["positions": [[0, 1]], "rope": ["axes": ["sections": [4, 4], "sectoins": 1]]], 400, "rope.axes.sectoins"),
        ("a row with too few coordinates", ["positions": [[0, 1]], "rope": ["axes": ["sections": [2, 3, 3]]]], 400, "positions[0]"),
        ("flat positions with axes", ["positions": [3], "rope": ["axes": ["sections": [2, 3, 3]]]], 400, "positions"),
        ("no positions with axes", ["rope": ["axes": ["sections": [2, 3, 3]]]], 400, "positions"),
        ("multi-axis positions without axes", ["positions": [[0, 1, 2]]], 400, "positions"),
        ("a coordinate beyond max_position", ["positions": [[0, -2e7, 2]], "rope": ["axes": ["sections": [2, 3, 3]]]], 400, "positions[0][1]"),
        ("a grid whose cells are not the rows", ["positions": ["grid": [1, 2, 2]], "rope": ["axes": ["sections": [2, 3, 3]]]], 400, "positions"),
        ("a grid of another axis count", ["positions": ["grid": [1, 1]], "rope": ["axes": ["sections": [2, 3, 3]]]], 400, "positions.grid"),
        ("a grid beyond the element limit", ["positions": ["grid": [1 << 20, 1 << 20, 1 << 20]], "rope": ["axes": ["sections": [2, 3, 3]]]],
         413, "positions.grid"),
        ("xpos with axes", ["positions": [[0, 1, 2]], "rope": ["rope_type": "xpos", "axes": ["sections": [2, 3, 3]]]], 400, "rope.rope_type"),
        ("interleaved axes_dim", ["positions": [[0, 1]], "rope": ["axes": ["axes_dim": [8, 8], "interleaved": true]]], 400, "rope.axes.interleaved"),
        ("max_freq without pixel", ["positions": [[0, 1]], "rope": ["axes": ["axes_dim": [8, 8], "max_freq": 3]]], 400, "rope.axes.max_freq"),
        ("a zero max_freq", ["positions": [[0, 1]], "rope": ["axes": ["axes_dim": [8, 8], "frequencies": "pixel", "max_freq": 0]]], 400,
         "rope.axes.max_freq"),
        ("ragged mixed frequencies", ["positions": [[0, 1]], "rope": ["axes": ["mixed": [[[1, 2], [3]]]]]], 400, "rope.axes.mixed"),
        ("mixed frequencies for too few pairs", ["positions": [[0, 1]], "rope": ["axes": ["mixed": [[[1, 2], [3, 4]]]]]], 400, "rope.axes.mixed"),
        ("mixed frequencies for another head count",
         ["positions": [[0, 1]], "rope": ["axes": ["mixed": [[[Double]]](repeating: [[Double]](repeating: [1, 2], count: 8), count: 2)]]],
         400, "rope.axes.mixed"),
        ("a pixel grid with text", ["positions": ["grid": [1, 1], "pixel": true, "text_before": 1],
                                    "rope": ["axes": ["axes_dim": [8, 8], "frequencies": "pixel"]]], 400, "positions.pixel"),
        ("a non-finite coordinate", ["positions": [[0, 1e300]], "rope": ["axes": ["sections": [4, 4]]]], 400, "positions[0][1]"),
    ]

    /// Positions per head (`[heads][seq][axes]`): each head turns as a one-head request at its own positions would.
    @Test func positionsPerHeadTurnEachHeadByItsOwn() async throws {
        let rope: [String: Any] = ["rope_theta": 100, "axes": ["axes_dim": [4, 4]], "layout": "interleaved"]
        let head0: [[Double]] = [[0, 0], [1, 2], [3, 1]], head1: [[Double]] = [[5, 0], [0, 7], [2, 2]]
        func value(_ h: Int, _ r: Int, _ d: Int) -> Float { Float(h * 24 + r * 8 + d) / 13 - 1 }
        let vectors: [[[Float]]] = (0..<2).map { (h: Int) -> [[Float]] in
            (0..<3).map { (r: Int) -> [Float] in (0..<8).map { (d: Int) -> Float in value(h, r, d) } }
        }
        let both = try await call("POST", "/rotate", json: ["vectors": vectors, "positions": [head0, head1], "rope": rope])
        #expect(both.status == 200, "\(both.error)")
        let rotated = both.object["vectors"] as! [[[NSNumber]]]
        #expect((both.object["positions"] as? [[[NSNumber]]])?.count == 2)
        for (h, positions) in [head0, head1].enumerated() {
            let alone = try await call("POST", "/rotate", json: ["vectors": vectors[h], "positions": positions, "rope": rope])
            let expected: [[Float]] = rotated[h].map { (row: [NSNumber]) -> [Float] in row.map { $0.floatValue } }
            #expect(matrix(alone.object["vectors"]) == expected, "head \(h)")
        }
        #expect(rotated[0] != rotated[1])
        let wrong = try await call("POST", "/rotate", json: ["vectors": vectors, "positions": [head0], "rope": rope])
        #expect(wrong.status == 400 && wrong.error["param"] as? String == "positions")
        let short = try await call("POST", "/rotate", json: ["vectors": vectors, "positions": [head0, [[1, 1]]], "rope": rope])
        #expect(short.status == 400 && short.error["param"] as? String == "positions[1]")
    }

    /// The same request as `.npy` with settings in the query string (grids and flat positions, one coordinate per
    /// axis row after row) gives the JSON answer's floats.
    @Test func npyQueryMatchesJSON() async throws {
        let rows = (0..<6).map { r in (0..<8).map { d in Float(r * 8 + d) / 17 - 1 } }
        let body = RotateRequestTests.npy(rows.flatMap { $0 }, shape: [6, 8])
        func npyFloats(_ reply: Response) -> [Float] {
            let header = Int(reply.body[8]) | Int(reply.body[9]) << 8
            return stride(from: 10 + header, to: reply.body.count, by: 4).map { (i: Int) -> Float in
                var bits: UInt32 = 0
                for byte in 0..<4 { bits |= UInt32(reply.body[i + byte]) << (8 * UInt32(byte)) }
                return Float(bitPattern: bits)
            }
        }
        let json = try await call("POST", "/rotate", json: [
            "vectors": rows, "positions": ["grid": [1, 2, 2], "text_before": 2],
            "rope": ["rope_theta": 1000, "layout": "interleaved", "axes": ["sections": [2, 1, 1], "interleaved": true]]])
        let expected = matrix(json.object["vectors"]).flatMap { $0 }
        let gridded = try await call("POST", "/rotate", body: body, contentType: "application/x-npy", accept: "application/x-npy",
                                     query: [("rope_theta", "1000"), ("layout", "interleaved"), ("sections", "2,1,1"),
                                             ("interleaved", "true"), ("grid", "1,2,2"), ("text_before", "2")])
        #expect(gridded.status == 200 && npyFloats(gridded) == expected)
        let flat = try await call("POST", "/rotate", body: body, contentType: "application/x-npy", accept: "application/x-npy",
                                  query: [("rope_theta", "1000"), ("layout", "interleaved"), ("sections", "2,1,1"), ("interleaved", "true"),
                                          ("positions", "0,0,0,1,1,1,2,2,2,2,2,3,2,3,2,2,3,3")])
        #expect(flat.status == 200 && npyFloats(flat) == expected)
        let ragged = try await call("POST", "/rotate", body: body, contentType: "application/x-npy",
                                    query: [("sections", "2,1,1"), ("positions", "0,0,0,1")])
        #expect(ragged.status == 400 && ragged.error["param"] as? String == "positions")
        let mixed = try await call("POST", "/rotate", body: body, contentType: "application/x-npy", query: [("mixed", "1")])
        #expect(mixed.status == 400 && mixed.error["param"] as? String == "mixed")
    }

    @Test(arguments: badRequests.map(\.0))
    func badInputIsNamed(name: String) async throws {
        let (_, fields, status, param) = Self.badRequests.first { $0.0 == name }!
        var body = fields
        body["vectors"] = [Self.vector]
        let reply = try await call("POST", "/rotate", json: body)
        #expect(reply.status == status, "\(name): \(reply.error)")
        #expect(reply.error["param"] as? String == param, "\(name): \(reply.error)")
    }
}

/// Multi-axis `/attention`: the same `axes` and positions as `/rotate`, causal by sequence order.
@Suite struct AttentionAxesTests {
    static let rows: [[Float]] = (0..<6).map { r in (0..<8).map { d in Float((r * 8 + d) % 7) / 3 - 1 } }
    nonisolated(unsafe) static let encoding: [String: Any] = ["type": "rope", "rope_theta": 1000, "axes": ["sections": [2, 1, 1]]]
    nonisolated(unsafe) static let grid: [String: Any] = ["grid": [1, 2, 2], "text_before": 2]

    /// Attention with axes equals attention with no encoding on vectors `/rotate` turned by the same axes.
    @Test func equalsAttentionOnVectorsRotatedByTheEndpoint() async throws {
        let multi = try await call("POST", "/attention", json: [
            "queries": Self.rows, "keys": Self.rows, "positions_q": Self.grid, "positions_k": Self.grid,
            "position_encoding": Self.encoding, "causal": true, "return": ["weights", "scores"]])
        #expect(multi.status == 200, "\(multi.error)")
        #expect((multi.object["positions_q"] as? [[NSNumber]])?.map { $0.map(\.intValue) }
                == [[0, 0, 0], [1, 1, 1], [2, 2, 2], [2, 2, 3], [2, 3, 2], [2, 3, 3]])
        var rope = Self.encoding
        rope["type"] = nil
        let q = try await call("POST", "/rotate", json: ["vectors": Self.rows, "positions": Self.grid, "rope": rope])
        let k = try await call("POST", "/rotate", json: ["vectors": Self.rows, "positions": Self.grid, "rope": rope, "role": "key"])
        let plain = try await call("POST", "/attention", json: [
            "queries": q.object["vectors"]!, "keys": k.object["vectors"]!, "position_encoding": ["type": "none"],
            "causal": true, "return": ["weights", "scores"]])
        for name in ["weights", "scores"] {
            for (a, b) in zip(matrix(multi.object[name]).joined(), matrix(plain.object[name]).joined()) { #expect(abs(a - b) <= 1e-6) }
        }
        // Causal by sequence order: row 2 (the first patch) sees rows 0-2, not the patches after it.
        let weights = matrix(multi.object["weights"])
        #expect(weights[2][3] == 0 && weights[2][2] > 0 && weights[5][3] > 0)
    }

    /// Shifting every key and query by the same amount on one axis leaves the scores as they were.
    @Test func scoresDependOnlyOnOffsetsPerAxis() async throws {
        func scores(_ shift: [Int]) async throws -> [Float] {
            let positions = [[0, 0, 0], [1, 4, 2], [1, 5, 3], [3, 0, 9], [4, 4, 4], [7, 1, 0]].map { zip($0, shift).map(+) }
            let reply = try await call("POST", "/attention", json: [
                "queries": Self.rows, "keys": Self.rows, "positions_q": positions, "positions_k": positions,
                "position_encoding": Self.encoding, "return": ["scores"]])
            return Array(matrix(reply.object["scores"]).joined())
        }
        let reference = try await scores([0, 0, 0])
        #expect(reference.count == 36)
        for shift in [[5, 0, 0], [0, 9, 0], [0, 0, 30], [2, 3, 4]] {
            for (a, b) in zip(try await scores(shift), reference) { #expect(abs(a - b) <= 1e-4, "shift \(shift)") }
        }
    }

    @Test func badInputIsNamed() async throws {
        let cases: [([String: Any], String)] = [
            (["positions_q": Self.grid, "positions_k": Self.grid, "position_encoding": ["type": "sinusoidal", "axes": ["sections": [2, 1, 1]]]],
             "position_encoding.axes"),
            (["positions_k": Self.grid, "position_encoding": Self.encoding], "positions_q"),
            (["positions_q": Self.grid, "positions_k": ["grid": [1, 1, 2]], "position_encoding": Self.encoding], "positions_k"),
            (["positions_q": Self.grid, "positions_k": Self.grid, "position_encoding": ["axes": ["sections": [1, 1, 1]]]],
             "position_encoding.axes.sections"),
        ]
        for (fields, param) in cases {
            var body = fields
            body["queries"] = Self.rows
            body["keys"] = Self.rows
            let reply = try await call("POST", "/attention", json: body)
            #expect(reply.status == 400 && reply.error["param"] as? String == param, "\(fields): \(reply.error)")
        }
        // Mixed frequencies are per head, so grouped-query keys (fewer heads) cannot take them.
        let mixed: [[[Double]]] = [[[1, 0], [0, 1]], [[0.5, 0.5], [2, 1]]]
        let grouped = try await call("POST", "/attention", json: [
            "queries": [[[1, 0, 0, 1]], [[0, 1, 1, 0]]], "keys": [[[1, 0, 0, 1]]], "positions_q": [[0, 1]], "positions_k": [[2, 3]],
            "position_encoding": ["axes": ["mixed": mixed]]])
        #expect(grouped.status == 400 && grouped.error["param"] as? String == "keys", "\(grouped.error)")
    }
}

/// `/attention/decay` with two axes: a surface as JSON or an SVG heatmap.
@Suite struct DecaySurfaceEndpointTests {
    @Test func answersASurface() async throws {
        let body: [String: Any] = ["head_dim": 16, "rope_theta": 100, "max_distance": 6, "samples": 8, "axes": ["axes_dim": [8, 8]]]
        let json = try await call("POST", "/attention/decay", json: body)
        #expect(json.status == 200, "\(json.error)")
        let bound = matrix(json.object["upper_bound"])
        #expect(bound.count == 7 && bound.allSatisfy { $0.count == 7 } && bound[0][0] == 1)
        #expect(matrix(json.object["mean_dot"]).count == 7)
        let svg = try await call("POST", "/attention/decay", json: body, accept: "image/svg+xml")
        #expect(svg.status == 200 && svg.header("content-type") == "image/svg+xml")
        #expect(String(decoding: svg.body, as: UTF8.self).contains("<svg"))
    }

    @Test func badSurfacesAreNamed() async throws {
        for (body, param) in [
            (["head_dim": 16, "axes": ["sections": [4, 2, 2]]] as [String: Any], "axes"),
            (["head_dim": 16, "max_distance": 129, "axes": ["sections": [4, 4]]], "max_distance"),
            (["head_dim": 16, "axes": ["sections": [4, 3]]], "axes.sections"),
        ] {
            let reply = try await call("POST", "/attention/decay", json: body)
            #expect(reply.status == 400 && reply.error["param"] as? String == param, "\(body): \(reply.error)")
        }
    }
}
