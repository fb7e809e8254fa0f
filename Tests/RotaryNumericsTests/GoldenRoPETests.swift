import Foundation
import Testing
import RotaryTestSupport
@testable import RotaryNumerics

/// Maps a golden case's HF `rope_parameters` onto the module's typed configuration (test-side,
/// written independently of the service's JSON decoding).
func configuration(for c: GoldenRoPECase) throws -> RoPEConfiguration {
    let p = c.parameters
    func double(_ key: String) -> Double? { (p[key] as? NSNumber)?.doubleValue }
    func int(_ key: String) -> Int? { (p[key] as? NSNumber)?.intValue }
    func doubles(_ key: String) -> [Double] { (p[key] as! [NSNumber]).map(\.doubleValue) }
    let scaling: RoPEScaling
    switch p["rope_type"] as! String {
    case "default": scaling = .none
    case "linear": scaling = .linear(factor: double("factor")!)
    case "dynamic": scaling = .dynamic(factor: double("factor")!)
    case "yarn":
        scaling = .yarn(YaRNParameters(
            factor: double("factor"), originalMaxPositionEmbeddings: int("original_max_position_embeddings"),
            betaFast: double("beta_fast") ?? 32, betaSlow: double("beta_slow") ?? 1, mscale: double("mscale"),
            mscaleAllDim: double("mscale_all_dim"), attentionFactor: double("attention_factor"),
            truncate: (p["truncate"] as? Bool) ?? true))
    case "llama3":
        scaling = .llama3(Llama3Parameters(
            factor: double("factor")!, lowFreqFactor: double("low_freq_factor")!,
            highFreqFactor: double("high_freq_factor")!,
            originalMaxPositionEmbeddings: int("original_max_position_embeddings")!))
    case "longrope":
        scaling = .longrope(LongRoPEParameters(
            shortFactor: doubles("short_factor"), longFactor: doubles("long_factor"), factor: double("factor"),
            originalMaxPositionEmbeddings: int("original_max_position_embeddings"),
            attentionFactor: double("attention_factor")))
    case let other:
        Issue.record("case \(c.id) has rope_type '\(other)' that the test does not know")
        throw CancellationError()
    }
    return try RoPEConfiguration(
        headDim: c.headDim, theta: double("rope_theta")!, layout: RoPELayout(rawValue: c.layout)!,
        scaling: scaling, partialRotaryFactor: double("partial_rotary_factor") ?? 1,
        maxPositionEmbeddings: c.maxPositionEmbeddings)
}

/// Expands a `[rows][pairs]` table to the golden layout: half `[c0…c_{r/2-1}, c0…]`, interleaved `[c0,c0,c1,c1…]`.
func expanded(_ table: [Float], row: Int, pairs: Int, layout: RoPELayout) -> [Float] {
    let slice = Array(table[(row * pairs)..<((row + 1) * pairs)])
    switch layout {
    case .half: return slice + slice
    case .interleaved: return slice.flatMap { [$0, $0] }
    }
}

@Suite struct GoldenRoPETests {
    static let cases: [GoldenRoPECase] = (try? GoldenRoPECase.loadAll()) ?? []

    @Test func goldenFileIsPresentAndComplete() throws {
        #expect(Self.cases.count >= 17, "golden cases missing: found \(Self.cases.count)")
        let types = Set(Self.cases.map { $0.parameters["rope_type"] as! String })
        #expect(types.isSubset(of: Set(RoPEScaling.Kind.allCases.map(\.rawValue))), "unknown rope_type in \(types)")
    }

    @Test(arguments: GoldenRoPETests.cases.map(\.id))
    func matchesTransformers(id: String) throws {
        let c = try #require(Self.cases.first { $0.id == id })
        let config = try configuration(for: c)
        #expect(config.rotaryDim == c.rotaryDim)
        let table = config.table(positions: c.positions)
        let freqs = table.frequencies
        #expect(freqs.inverseFrequencies.count == c.invFreq.count)
        for (got, want) in zip(freqs.inverseFrequencies, c.invFreq) {
            #expect(abs(Double(got) - want) <= 1e-6 * abs(want), "\(id) inv_freq \(got) vs \(want)")
        }
        #expect(abs(freqs.attentionScaling - c.attentionScaling) <= 1e-9 * c.attentionScaling, "\(id) attention_scaling")
        var q = c.q.flatMap { $0 }, k = c.k.flatMap { $0 }
        config.apply(table, to: &q)
        config.apply(table, to: &k)
        var worst = 0.0
        for (row, position) in c.positions.enumerated() {
            let bound = c.tolerance(at: position)
            let cosRow = expanded(table.cos, row: row, pairs: config.pairCount, layout: config.layout)
            let sinRow = expanded(table.sin, row: row, pairs: config.pairCount, layout: config.layout)
            let checks: [([Float], [Float], String)] = [
                (cosRow, c.cos[row], "cos"), (sinRow, c.sin[row], "sin"),
                (Array(q[(row * c.headDim)..<((row + 1) * c.headDim)]), c.qRot[row], "q_rot"),
                (Array(k[(row * c.headDim)..<((row + 1) * c.headDim)]), c.kRot[row], "k_rot"),
            ]
            for (got, want, name) in checks {
                #expect(got.count == want.count, "\(id) \(name) length")
                for (g, w) in zip(got, want) {
                    let error = abs(Double(g) - Double(w))
                    worst = max(worst, error / bound)
                    if error > bound {
                        Issue.record("\(id) \(name) at position \(position): \(g) vs \(w) (bound \(bound))")
                        return
                    }
                }
            }
        }
        // Relative pairs: rotate the fixed q at m and k at n, compare the dot product.
        for pair in c.pairs {
            var qm = c.relativeQ, kn = c.relativeK
            config.apply(config.table(positions: [pair.m], sequenceLength: c.sequenceLength), to: &qm)
            config.apply(config.table(positions: [pair.n], role: .key, sequenceLength: c.sequenceLength), to: &kn)
            let dot = zip(qm, kn).reduce(0.0) { $0 + Double($1.0) * Double($1.1) }
            #expect(abs(dot - pair.dot) <= pair.tolerance, "\(id) dot at m=\(pair.m) n=\(pair.n): \(dot) vs \(pair.dot)")
        }
    }
}
