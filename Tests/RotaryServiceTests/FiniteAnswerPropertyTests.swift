import Foundation
import Testing
import RotaryHTTP
import RotaryNumerics
import RotaryService

/// Every 200 carries finite numbers: random extremes of every RoPE variant's parameters, positions and
/// inputs through `/rotate` (JSON and `.npy`) and `/attention` give finite answers or a 400 naming a field.
@Suite struct FiniteAnswerPropertyTests {
    static let extremes: [Double] = [5e-324, 1e-300, 1e-50, 1e-8, 1e-3, 0.5, 1, 1.0000001, 2, 32, 1e8, 1e50, 1e300, 1.7e308, -10, 0]
    static let contexts: [Int] = [1, 2, 3, 4096, 2_147_483_647]
    static let positionChoices: [[Int]] = [[0, 1], [1, 1000], [0, 16_777_215], [65_536, 16_777_215]]
    static let inputs: [Float] = [0, 1, -1, 0.5, 3e38, -3e38, 1e-45, 1e20]
    /// Values a real request sends, so that the draws also reach accepted answers.
    static let ordinary: [Double] = [1, 1.5, 2, 4, 8, 32]
    static let ordinaryInputs: [Float] = [0, 1, -1, 0.5, -0.25, 2]

    /// The seeded generator of one run (a failure names the seed and the body).
    struct Draw {
        var random: SplitMix64
        mutating func pick<T>(_ choices: [T]) -> T { choices[Int(random.next() % UInt64(choices.count))] }
        mutating func maybe(_ probability: Double = 0.5) -> Bool { Double(random.next() >> 11) / 9_007_199_254_740_992 < probability }
        /// An extreme half the time, else an ordinary value.
        mutating func parameter() -> Double { maybe() ? pick(FiniteAnswerPropertyTests.extremes) : pick(FiniteAnswerPropertyTests.ordinary) }
        /// `count` inputs: extremes in a third of the requests.
        mutating func inputs(_ count: Int) -> [Float] {
            let choices = maybe(1.0 / 3) ? FiniteAnswerPropertyTests.inputs : FiniteAnswerPropertyTests.ordinaryInputs
            return (0..<count).map { _ in pick(choices) }
        }
    }

    /// A random `rope` object of `type` for `pairs` rotated pairs: each parameter absent or an extreme.
    static func rope(_ type: String, pairs: Int, _ draw: inout Draw) -> [String: Any] {
        var rope: [String: Any] = ["rope_type": type]
        func number(_ key: String, probability: Double = 0.7) { if draw.maybe(probability) { rope[key] = draw.parameter() } }
        func context(_ key: String, probability: Double = 0.7) { if draw.maybe(probability) { rope[key] = draw.pick(contexts) } }
        if draw.maybe(0.3) { rope["rope_theta"] = draw.parameter() }
        switch type {
        case "linear": number("factor", probability: 1)
        case "dynamic": number("factor", probability: 1); context("max_position_embeddings", probability: 1)
        case "yarn":
            number("factor"); context("original_max_position_embeddings"); context("max_position_embeddings")
            number("beta_fast"); number("beta_slow"); number("mscale"); number("mscale_all_dim"); number("attention_factor", probability: 0.3)
            if draw.maybe(0.3) { rope["truncate"] = draw.maybe() }
        case "llama3":
            number("factor", probability: 1); number("low_freq_factor", probability: 1); number("high_freq_factor", probability: 1)
            context("original_max_position_embeddings", probability: 1)
        case "longrope":
            let extreme = draw.maybe()
            rope["short_factor"] = (0..<pairs).map { _ in extreme ? draw.pick(extremes) : draw.pick(ordinary) }
            rope["long_factor"] = (0..<pairs).map { _ in extreme ? draw.pick(extremes) : draw.pick(ordinary) }
            number("factor"); context("original_max_position_embeddings"); context("max_position_embeddings"); number("attention_factor", probability: 0.3)
        case "xpos": number("scale_base", probability: 1)
        default: break
        }
        return rope
    }

    /// Every number in a JSON answer is finite (JSON writes NaN and infinity as null, so: no null).
    static func allFinite(_ any: Any) -> Bool {
        switch any {
        case is NSNull: return false
        case let number as NSNumber: return number.doubleValue.isFinite
        case let array as [Any]: return array.allSatisfy(allFinite)
        case let object as [String: Any]: return object.values.allSatisfy(allFinite)
        default: return true
        }
    }

    /// A 200 whose numbers are finite, or a 400 that names a field.
    static func check(_ reply: Response, _ context: String) {
        if reply.status == 400 {
            #expect(reply.error["param"] is String, "400 without param: \(reply.error) for \(context)")
            return
        }
        #expect(reply.status == 200, "\(reply.status) \(String(decoding: reply.body.prefix(300), as: UTF8.self)) for \(context)")
        guard reply.status == 200 else { return }
        if reply.header("Content-Type") == "image/svg+xml" {
            let svg = String(decoding: reply.body, as: UTF8.self)
            #expect(svg.range(of: #"[^a-zA-Z](nan|NaN|-?inf)[^a-zA-Z]"#, options: .regularExpression) == nil, "non-finite SVG for \(context)")
        } else if reply.header("Content-Type") == "application/x-npy" {
            let values = NPYTestDecoding.floats(reply.body)
            #expect(!values.isEmpty && values.allSatisfy(\.isFinite), "non-finite .npy for \(context)")
            #expect(Double(reply.header("X-Attention-Scaling") ?? "")?.isFinite == true, "X-Attention-Scaling for \(context)")
        } else {
            let object = try? JSONSerialization.jsonObject(with: Data(reply.body))
            #expect(object.map(allFinite) == true, "non-finite JSON \(String(decoding: reply.body.prefix(300), as: UTF8.self)) for \(context)")
        }
    }

    static let types = ["default", "linear", "dynamic", "yarn", "llama3", "longrope", "xpos"]

    @Test(arguments: types)
    func rotateAnswersFiniteNumbersOrA400(type: String) async throws {
        var draw = Draw(random: SplitMix64(seed: UInt64(type.utf8.reduce(0) { $0 &* 31 &+ Int($1) } & 0xffff)))
        var okCount = 0
        for round in 0..<120 {
            let positions = draw.pick(Self.positionChoices)
            let vectors = positions.map { _ in draw.inputs(8) }
            let rope = Self.rope(type, pairs: 4, &draw)
            let extras = draw.maybe() ? ["cos", "sin", "inv_freq", "attention_scaling"] : []
            let body: [String: Any] = ["vectors": vectors, "positions": positions, "rope": rope, "return": extras,
                                       "inverse": draw.maybe(), "role": draw.maybe() ? "query" : "key"]
            let reply = try await call("POST", "/rotate", json: body)
            Self.check(reply, "round \(round): \(body)")
            if reply.status == 200 { okCount += 1 }
            // The same settings as an .npy request.
            var query: [(name: String, value: String)] = rope.map { key, value in
                (key, (value as? [Double]).map { $0.map { "\($0)" }.joined(separator: ",") } ?? "\(value)")
            }
            query.append(("positions", positions.map(String.init).joined(separator: ",")))
            let npy = try await call("POST", "/rotate", body: RotateRequestTests.npy(vectors.flatMap { $0 }, shape: [2, 8]),
                                     contentType: "application/x-npy", accept: "application/x-npy", query: query)
            Self.check(npy, "round \(round) as .npy: \(query)")
        }
        // The draw must also reach accepted answers, or the property says nothing.
        #expect(okCount > 10, "\(type): only \(okCount) answers were 200")
    }

    /// The issue's cases, each a finite 200 or a 400 naming the parameter.
    @Test(arguments: [
        (#"{"rope_type": "linear", "factor": 1e-50}"#, "rope.factor"),
        (#"{"rope_type": "longrope", "short_factor": [1, 1, 1, 1], "long_factor": [2, 2, 2, 2], "factor": 4, "original_max_position_embeddings": 1}"#,
         "rope.original_max_position_embeddings"),
        (#"{"rope_type": "yarn", "factor": 4, "original_max_position_embeddings": 4096, "beta_fast": 5e-324, "beta_slow": 5e-324}"#, ""),
        (#"{"rope_type": "yarn", "factor": 4, "original_max_position_embeddings": 4096, "attention_factor": 1e300}"#, "rope.attention_factor"),
        (#"{"rope_type": "yarn", "factor": 4, "original_max_position_embeddings": 4096, "mscale": 1, "mscale_all_dim": -7.213475204444817}"#,
         "rope.mscale_all_dim"),
        (#"{"rope_type": "xpos", "scale_base": 1e-300}"#, "rope.scale_base"),
    ])
    func theIssuesCasesAreFiniteOrNamed(ropeJSON: String, param: String) async throws {
        let rope = try JSONSerialization.jsonObject(with: Data(ropeJSON.utf8))
        let reply = try await call("POST", "/rotate", json: ["vectors": [[1, 2, 3, 4, 5, 6, 7, 8], [1, 0, 0, 1, 0, 1, 1, 0]],
                                                            "positions": [3, 5000], "rope": rope, "return": ["cos", "sin", "inv_freq"]])
        Self.check(reply, "\(rope)")
        #expect(reply.status == (param.isEmpty ? 200 : 400), "\(rope): \(reply.error)")
        if !param.isEmpty { #expect(reply.error["param"] as? String == param, "\(rope): \(reply.error)") }
    }

    @Test func inputsNear3e38AreFiniteOrNamed() async throws {
        let big: [Float] = [3e38, -3e38, 3e38, 3e38, 3e38, 3e38, -3e38, 3e38]
        let rope: [String: Any] = ["rope_type": "yarn", "factor": 4, "original_max_position_embeddings": 4096]
        let json = try await call("POST", "/rotate", json: ["vectors": [big], "positions": [7], "rope": rope])
        #expect(json.status == 400 && json.error["param"] as? String == "vectors", "\(json.error)")
        let npy = try await call("POST", "/rotate", body: RotateRequestTests.npy(big, shape: [1, 8]), contentType: "application/x-npy",
                                 accept: "application/x-npy", query: [("rope_type", "yarn"), ("factor", "4"),
                                                                      ("original_max_position_embeddings", "4096"), ("positions", "7")])
        #expect(npy.status == 400 && npy.error["param"] as? String == "body", "\(npy.error)")
        let attention = try await call("POST", "/attention", json: ["queries": [big, big], "keys": [big, big], "return": ["scores", "weights"]])
        #expect(attention.status == 400 && attention.error["param"] as? String == "queries", "\(attention.error)")
        let svg = try await call("POST", "/attention", json: ["queries": [big, big], "keys": [big, big]], accept: "image/svg+xml")
        #expect(svg.status == 400, "SVG of overflowing weights")
    }

    /// /attention/decay over the extremes of rope_theta, as JSON and as SVG (a theta of 1e300 crashed the
    /// SVG's number formatting).
    @Test(arguments: [1.0000001, 1.5, 10_000, 1e15, 1e100, 1e300, 1.7e308])
    func decayAnswersFiniteNumbers(theta: Double) async throws {
        let body: [String: Any] = ["rope_theta": theta, "max_distance": 64, "samples": 8, "head_dim": 8]
        Self.check(try await call("POST", "/attention/decay", json: body), "decay \(theta)")
        Self.check(try await call("POST", "/attention/decay", json: body, accept: "image/svg+xml"), "decay SVG \(theta)")
    }

    @Test(arguments: types + ["sinusoidal", "none"])
    func attentionAnswersFiniteNumbersOrA400(type: String) async throws {
        var draw = Draw(random: SplitMix64(seed: UInt64(type.utf8.reduce(7) { $0 &* 31 &+ Int($1) } & 0xffff)))
        var okCount = 0
        for round in 0..<80 {
            let positions = draw.pick(Self.positionChoices)
            func matrix() -> [[Float]] { positions.map { _ in draw.inputs(8) } }
            var encoding: [String: Any]
            switch type {
            case "sinusoidal": encoding = ["type": "sinusoidal", "base": min(draw.parameter() * 10_000, 1e300)]
            case "none": encoding = ["type": "none"]
            default: encoding = Self.rope(type, pairs: 4, &draw); encoding["type"] = "rope"
            }
            var body: [String: Any] = ["queries": matrix(), "keys": matrix(), "values": matrix(), "positions_q": positions,
                                       "positions_k": positions, "position_encoding": encoding,
                                       "return": ["scores", "weights", "output"], "causal": draw.maybe()]
            if draw.maybe(0.3) { body["scale"] = draw.parameter() }
            let reply = try await call("POST", "/attention", json: body)
            Self.check(reply, "round \(round): \(body)")
            if reply.status == 200 { okCount += 1 }
            if draw.maybe(0.2) {
                Self.check(try await call("POST", "/attention", json: body, accept: "image/svg+xml"), "SVG round \(round)")
            }
        }
        #expect(okCount > 5, "\(type): only \(okCount) answers were 200")
    }
}

/// The float32 data of a version 1.0 `.npy` answer.
enum NPYTestDecoding {
    static func floats(_ bytes: [UInt8]) -> [Float] {
        guard bytes.count >= 10 else { return [] }
        let start = 10 + Int(bytes[8]) + Int(bytes[9]) << 8
        guard start <= bytes.count, (bytes.count - start) % 4 == 0 else { return [] }
        return stride(from: start, to: bytes.count, by: 4).map { i in
            Float(bitPattern: UInt32(bytes[i]) | UInt32(bytes[i + 1]) << 8 | UInt32(bytes[i + 2]) << 16 | UInt32(bytes[i + 3]) << 24)
        }
    }
}
