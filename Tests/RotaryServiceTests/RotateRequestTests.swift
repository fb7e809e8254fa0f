import Foundation
import Testing
import RotaryService

/// `/rotate` request handling: defaults, shapes, .npy, and every bad input the issue names.
@Suite struct RotateRequestTests {
    static let vector: [Float] = [0.5, -0.25, 1, 2, 0.125, -1, 3, 0.75]

    /// A `.npy` built byte by byte (independently of the service's encoder).
    static func npy(_ values: [Float], shape: [Int], descr: String = "<f4", fortran: Bool = false) -> [UInt8] {
        let shapeText = "(" + shape.map(String.init).joined(separator: ", ") + (shape.count == 1 ? ",)" : ")")
        var header = "{'descr': '\(descr)', 'fortran_order': \(fortran ? "True" : "False"), 'shape': \(shapeText), }"
        header += String(repeating: " ", count: 63 - (10 + header.utf8.count) % 64) + "\n"
        var bytes: [UInt8] = [0x93] + Array("NUMPY".utf8) + [1, 0, UInt8(header.utf8.count % 256), UInt8(header.utf8.count / 256)]
        bytes += Array(header.utf8)
        for v in values { withUnsafeBytes(of: v.bitPattern.littleEndian) { bytes += $0 } }
        return bytes
    }

    @Test func defaultsArePositionsFromOffsetAndHalfLayout() async throws {
        let reply = try await call("POST", "/rotate", json: ["vectors": [Self.vector, Self.vector], "offset": 5])
        #expect(reply.status == 200)
        #expect(reply.object["positions"] as? [Int] == [5, 6])
        #expect(reply.object["shape"] as? [Int] == [2, 8])
        // Row 0 at position 5, pair 0 (coordinates 0 and 4), θ_0 = 1.
        let out = matrix(reply.object["vectors"])
        let c = Float(cos(5.0)), s = Float(sin(5.0))
        #expect(abs(out[0][0] - (0.5 * c - 0.125 * s)) < 1e-6)
        #expect(abs(out[0][4] - (0.125 * c + 0.5 * s)) < 1e-6)
    }

    @Test func threeDimensionalInputRotatesEveryHead() async throws {
        let reply = try await call("POST", "/rotate", json: ["vectors": [[Self.vector], [Self.vector]], "positions": [3]])
        #expect(reply.status == 200)
        #expect(reply.object["shape"] as? [Int] == [2, 1, 8])
        let heads = reply.object["vectors"] as! [[[NSNumber]]]
        #expect(heads[0] == heads[1])
    }

    @Test func inverseRoundTripsThroughTheEndpoint() async throws {
        let rope: [String: Any] = ["rope_type": "yarn", "factor": 4, "original_max_position_embeddings": 64, "layout": "interleaved"]
        let forward = try await call("POST", "/rotate", json: ["vectors": [Self.vector], "positions": [1000], "rope": rope])
        let back = try await call("POST", "/rotate", json: ["vectors": forward.object["vectors"]!, "positions": [1000], "rope": rope, "inverse": true])
        for (a, b) in zip(matrix(back.object["vectors"])[0], Self.vector) { #expect(abs(a - b) < 1e-5) }
    }

    @Test func npyInAndOutMatchesJSON() async throws {
        let values = (0..<24).map { Float($0) / 7 - 1 }
        let npyReply = try await call("POST", "/rotate", body: Self.npy(values, shape: [3, 8]), contentType: "application/x-npy",
                                      accept: "application/x-npy", query: [("rope_type", "linear"), ("factor", "2"), ("offset", "4")])
        #expect(npyReply.status == 200)
        #expect(npyReply.header("content-type") == "application/x-npy")
        let jsonReply = try await call("POST", "/rotate", json: [
            "vectors": [Array(values[0..<8]), Array(values[8..<16]), Array(values[16..<24])],
            "offset": 4, "rope": ["rope_type": "linear", "factor": 2],
        ])
        let expected = matrix(jsonReply.object["vectors"]).flatMap { $0 }
        let body = npyReply.body
        let headerLength = Int(body[8]) | Int(body[9]) << 8
        #expect((10 + headerLength) % 64 == 0)
        let header = String(decoding: body[10..<(10 + headerLength)], as: UTF8.self)
        #expect(header.contains("'shape': (3, 8)") && header.contains("'<f4'"))
        let floats = stride(from: 10 + headerLength, to: body.count, by: 4).map { i in
            Float(bitPattern: UInt32(body[i]) | UInt32(body[i + 1]) << 8 | UInt32(body[i + 2]) << 16 | UInt32(body[i + 3]) << 24)
        }
        #expect(floats == expected)
        // Without Accept: application/x-npy the answer is JSON.
        let asJSON = try await call("POST", "/rotate", body: Self.npy(values, shape: [3, 8]), contentType: "application/x-npy",
                                    query: [("rope_type", "linear"), ("factor", "2"), ("offset", "4")])
        #expect(matrix(asJSON.object["vectors"]).flatMap { $0 } == expected)
    }

    @Test(arguments: [
        (#"{"vectors": [[1, 2, 3]]}"#, "vectors", "even"),
        (#"{"vectors": [[1, 2, 3, 4]], "rope": {"rotary_dim": 3}}"#, "rope.rotary_dim", "even"),
        (#"{"vectors": [[1, 2, 3, 4], [1, 2]]}"#, "vectors[1]", "ragged"),
        (#"{"vectors": [[1, 2, "x", 4]]}"#, "vectors[0][2]", "must be a number, got a string"),
        (#"{"vectors": [[1, 2, 3, 4], 7]}"#, "vectors[1]", "array of numbers"),
        (#"{"vectors": [[[1, 2], [3, 4]], [[1, 2]]]}"#, "vectors[1]", "rows"),
        (#"{"vectors": [[1, 2, NaN, 4]]}"#, "vectors[0][2]", "invalid JSON"),
        (#"{"vectors": [[1, 2, Infinity, 4]]}"#, "vectors[0][2]", "invalid JSON"),
        (#"{"vectors": [[1, 2, 1e400, 4]]}"#, "vectors[0][2]", "out of range"),
        (#"{"vectors": [[1, 2, 1e39, 4]]}"#, "vectors[0][2]", "float32"),
        (#"{"vectors": [[1, 2, 3, 4]], "positions": [-1]}"#, "positions[0]", "whole number"),
        (#"{"vectors": [[1, 2, 3, 4]], "positions": [0.5]}"#, "positions[0]", "whole number"),
        (#"{"vectors": [[1, 2, 3, 4]], "positions": [99999999999]}"#, "positions[0]", "whole number"),
        (#"{"vectors": [[1, 2, 3, 4]], "positions": [0, 1]}"#, "positions", "rows"),
        (#"{"vectors": [[1, 2, 3, 4]], "rope": {"rope_type": "ntk"}}"#, "rope.rope_type", "default, linear, dynamic, yarn, llama3, longrope, xpos"),
        (#"{"vectors": [[1, 2, 3, 4]], "rope": {"layout": "neox"}}"#, "rope.layout", "half, interleaved"),
        (#"{"vectors": [[1, 2, 3, 4]], "rope": {"rope_type": "linear"}}"#, "rope.factor", "required"),
        (#"{"vectors": [[1, 2, 3, 4]], "rope": {"rope_type": "llama3", "factor": 8}}"#, "rope.low_freq_factor", "required"),
        (#"{"vectors": [[1, 2, 3, 4]], "rope": {"rope_type": "dynamic", "factor": 2}}"#, "rope.max_position_embeddings", "required"),
        (#"{"vectors": [[1, 2, 3, 4]], "rope": {"factor": 2}}"#, "rope.factor", "does not apply"),
        (#"{"vectors": [[1, 2, 3, 4]], "rope": {"rope_theta": "big"}}"#, "rope.rope_theta", "number"),
        (#"{"vectors": [[1, 2, 3, 4]], "rope": {"rope_type": "longrope", "short_factor": [1], "long_factor": [1, 1], "factor": 2, "max_position_embeddings": 64}}"#, "rope.short_factor", "one entry per rotated pair"),
        (#"{"vectors": [[1, 2, 3, 4]], "colour": 1}"#, "colour", "unknown field"),
        (#"{"vectors": [[1, 2, 3, 4]], "return": ["everything"]}"#, "return[0]", "inv_freq"),
        (#"{"vectors": []}"#, "vectors", "non-empty"),
        (#"{"positions": [1]}"#, "vectors", "required"),
        (#"{"vectors": [[1, 2, 3, 4]], "offset": null}"#, "offset", "must not be null"),
        (#"{"vectors": [[1, 2, 3, 4]], "rope": {"rope_theta": null}}"#, "rope.rope_theta", "must not be null"),
        (#"[1, 2]"#, nil, "JSON object"),
        (#"{"vectors": [[1, 2, 3, 4]]"#, nil, "invalid JSON"),
    ] as [(String, String?, String)])
    func badInputIs400NamingTheField(body: String, param: String?, message: String) async throws {
        let reply = try await call("POST", "/rotate", body: Array(body.utf8))
        #expect(reply.status == 400, "\(body)")
        #expect(reply.error["param"] as? String == param, "\(body): \(reply.error)")
        #expect((reply.error["message"] as? String ?? "").contains(message), "\(body): \(reply.error)")
        #expect(reply.error["code"] as? Int == 400)
        #expect(reply.error["type"] as? String == "invalid_request_error")
    }

    @Test(arguments: [
        (npy([1, 2, 3, 4], shape: [1, 4], descr: "<f8"), "float32"),
        (npy([1, 2, 3, 4], shape: [1, 4], descr: ">f4"), "float32"),
        (npy([1, 2, 3, 4], shape: [1, 4], fortran: true), "Fortran"),
        (Array(npy([1, 2, 3, 4], shape: [1, 4]).dropLast(3)), "data bytes"),
        (Array(npy([1, 2, 3, 4], shape: [1, 4]).prefix(20)), "truncated"),
        (npy([1, 2, 3, 4], shape: [4]), "2 or 3"),
        (Array("not numpy at all".utf8), "magic"),
        (npy([1, .nan, 3, 4], shape: [1, 4]), "not finite"),
    ])
    func malformedNpyIs400(body: [UInt8], message: String) async throws {
        let reply = try await call("POST", "/rotate", body: body, contentType: "application/x-npy")
        #expect(reply.status == 400)
        #expect((reply.error["message"] as? String ?? "").contains(message), "\(reply.error)")
    }

    @Test func overTheElementLimitIs413() async throws {
        var limits = ServiceConfiguration()
        limits.maxElements = 16
        let json = try await call("POST", "/rotate", json: ["vectors": [[Float](repeating: 1, count: 8), [Float](repeating: 1, count: 8), [Float](repeating: 1, count: 8)]],
                                  configuration: limits)
        #expect(json.status == 413)
        #expect(json.error["param"] as? String == "vectors")
        // The .npy header alone decides: no data needs to be read.
        let npy = try await call("POST", "/rotate", body: Self.npy([], shape: [1000, 1000, 1000]), contentType: "application/x-npy",
                                 configuration: limits)
        #expect(npy.status == 413)
    }

    @Test func queryParametersOnAJSONBodyAre400() async throws {
        let reply = try await call("POST", "/rotate", json: ["vectors": [Self.vector]], query: [("rope_theta", "5")])
        #expect(reply.status == 400 && reply.error["param"] as? String == "rope_theta")
    }

    @Test func badQuerySettingsOnNpyAre400() async throws {
        let reply = try await call("POST", "/rotate", body: Self.npy([1, 2, 3, 4], shape: [1, 4]), contentType: "application/x-npy",
                                   query: [("factor", "lots")])
        #expect(reply.status == 400)
        #expect(reply.error["param"] as? String == "factor")
    }
}
