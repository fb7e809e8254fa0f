import Foundation
import Testing
@testable import RotaryNumerics

/// Mathematical properties every variant must have, on seeded random inputs.
@Suite struct RoPEPropertyTests {
    static func randomVector(_ n: Int, seed: UInt64) -> [Float] {
        var generator = SplitMix64(seed: seed)
        return (0..<n).map { _ in Float.random(in: -1...1, using: &generator) }
    }

    static let variants: [(String, RoPEScaling)] = [
        ("default", .none), ("linear", .linear(factor: 4)), ("dynamic", .dynamic(factor: 2)),
        ("yarn", .yarn(YaRNParameters(factor: 8, originalMaxPositionEmbeddings: 512))),
        ("llama3", .llama3(Llama3Parameters(factor: 8, lowFreqFactor: 1, highFreqFactor: 4, originalMaxPositionEmbeddings: 256))),
        ("longrope", .longrope(LongRoPEParameters(shortFactor: (0..<16).map { 1 + Double($0) / 16 },
                                                   longFactor: (0..<16).map { 2 + Double($0) / 8 }, originalMaxPositionEmbeddings: 256))),
        ("xpos", .xpos(scaleBase: 512)),
    ]

    static func config(_ scaling: RoPEScaling, layout: RoPELayout = .half, rotaryDim: Int? = nil) throws -> RoPEConfiguration {
        try RoPEConfiguration(headDim: 40, theta: 10_000, layout: layout, scaling: scaling, rotaryDim: rotaryDim ?? 32,
                              maxPositionEmbeddings: 512)
    }

    @Test(arguments: variants.map(\.0), [RoPELayout.half, .interleaved])
    func inverseUndoesRotation(name: String, layout: RoPELayout) throws {
        let config = try Self.config(Self.variants.first { $0.0 == name }!.1, layout: layout)
        let positions = [0, 1, 7, 100, 511, 900]
        let original = Self.randomVector(positions.count * 40, seed: 1)
        var data = original
        config.apply(config.table(positions: positions), to: &data)
        #expect(data != original)
        config.apply(config.table(positions: positions, inverse: true), to: &data)
        for (a, b) in zip(data, original) { #expect(abs(a - b) <= 2e-5 * max(1, abs(b))) }
    }

    @Test(arguments: variants.map(\.0))
    func pairNormsScaleByAttentionScaling(name: String) throws {
        let config = try Self.config(Self.variants.first { $0.0 == name }!.1)
        let positions = [3, 50, 400]
        let original = Self.randomVector(positions.count * 40, seed: 2)
        var data = original
        let table = config.table(positions: positions)
        config.apply(table, to: &data)
        let s = table.frequencies.attentionScaling
        for (row, position) in positions.enumerated() {
            for i in 0..<16 {
                let a = row * 40 + i, b = a + 16
                var scale = s
                if let decay = table.frequencies.xposDecay { scale *= pow(decay[i], Double(position) / 512) }
                let before = (Double(original[a]) * Double(original[a]) + Double(original[b]) * Double(original[b])).squareRoot()
                let after = (Double(data[a]) * Double(data[a]) + Double(data[b]) * Double(data[b])).squareRoot()
                #expect(abs(after - scale * before) <= 1e-5 * max(1, before))
            }
            // The tail (rotary_dim 32 of 40) passes through untouched.
            #expect(Array(data[(row * 40 + 32)..<(row * 40 + 40)]) == Array(original[(row * 40 + 32)..<(row * 40 + 40)]))
        }
    }

    /// q_m · k_n depends only on m − n (default and xPos, whose query/key scales cancel to ζ^((m−n)/λ)).
    @Test(arguments: ["default", "xpos"])
    func dotProductDependsOnlyOnOffset(name: String) throws {
        let config = try Self.config(Self.variants.first { $0.0 == name }!.1)
        let q = Self.randomVector(40, seed: 3), k = Self.randomVector(40, seed: 4)
        func dot(_ m: Int, _ n: Int) -> Double {
            var qm = q, kn = k
            config.apply(config.table(positions: [m]), to: &qm)
            config.apply(config.table(positions: [n], role: .key), to: &kn)
            return zip(qm, kn).reduce(0) { $0 + Double($1.0) * Double($1.1) }
        }
        for offset in [0, 1, 5, 37] {
            let reference = dot(offset, 0)
            for start in [1, 10, 100, 300] {
                #expect(abs(dot(start + offset, start) - reference) <= 1e-4, "offset \(offset) start \(start)")
            }
        }
    }

    @Test func positionZeroIsIdentityForDefault() throws {
        let config = try Self.config(.none)
        let original = Self.randomVector(40, seed: 5)
        var data = original
        config.apply(config.table(positions: [0]), to: &data)
        #expect(data == original)
    }

    /// The two pairings are the same rotation after permuting coordinates.
    @Test func layoutsAgreeUpToPermutation() throws {
        let half = try Self.config(.none, layout: .half, rotaryDim: 40)
        let interleaved = try Self.config(.none, layout: .interleaved, rotaryDim: 40)
        let x = Self.randomVector(40, seed: 6)
        let permutation = (0..<20).flatMap { [$0, $0 + 20] }   // interleaved slot 2j ↔ half slot j, 2j+1 ↔ j+20
        var a = x, b = permutation.map { x[$0] }
        half.apply(half.table(positions: [123]), to: &a)
        interleaved.apply(interleaved.table(positions: [123]), to: &b)
        for (slot, source) in permutation.enumerated() { #expect(abs(b[slot] - a[source]) <= 1e-6) }
    }

    /// Large tensors split across threads and use SIMD; the answer must equal the one-row-at-a-time one.
    @Test(arguments: [RoPELayout.half, .interleaved])
    func parallelKernelMatchesRowByRow(layout: RoPELayout) throws {
        let config = try RoPEConfiguration(headDim: 128, layout: layout, rotaryDim: 104)
        let heads = 4, rows = 300
        let positions = Array(0..<rows)
        let table = config.table(positions: positions)
        let original = Self.randomVector(heads * rows * 128, seed: 7)
        var whole = original
        config.apply(table, to: &whole, heads: heads)
        for h in 0..<heads {
            for r in [0, 1, 150, 299] {
                var single = Array(original[((h * rows + r) * 128)..<((h * rows + r + 1) * 128)])
                config.apply(config.table(positions: [positions[r]]), to: &single)
                #expect(single == Array(whole[((h * rows + r) * 128)..<((h * rows + r + 1) * 128)]))
            }
        }
    }

    @Test func invalidConfigurationsNameTheParameter() {
        func parameter(_ make: () throws -> RoPEConfiguration) -> String? {
            do { _ = try make(); return nil } catch { return (error as? RoPEConfigurationError)?.parameter }
        }
        #expect(parameter { try RoPEConfiguration(headDim: 7) } == "head_dim")
        #expect(parameter { try RoPEConfiguration(headDim: 64, rotaryDim: 33) } == "rotary_dim")
        #expect(parameter { try RoPEConfiguration(headDim: 64, partialRotaryFactor: 1.5) } == "partial_rotary_factor")
        #expect(parameter { try RoPEConfiguration(headDim: 64, theta: -1) } == "rope_theta")
        #expect(parameter { try RoPEConfiguration(headDim: 64, scaling: .linear(factor: 0)) } == "factor")
        #expect(parameter { try RoPEConfiguration(headDim: 64, scaling: .dynamic(factor: 2)) } == "max_position_embeddings")
        #expect(parameter { try RoPEConfiguration(headDim: 64, scaling: .yarn(YaRNParameters())) } == "factor")
        #expect(parameter {
            try RoPEConfiguration(headDim: 64, scaling: .llama3(Llama3Parameters(factor: 8, lowFreqFactor: 4, highFreqFactor: 1,
                                                                                  originalMaxPositionEmbeddings: 8192)))
        } == "high_freq_factor")
        #expect(parameter {
            try RoPEConfiguration(headDim: 64, scaling: .longrope(LongRoPEParameters(shortFactor: [1], longFactor: [1], factor: 2)),
                                  maxPositionEmbeddings: 100)
        } == "short_factor")
    }

    @Test func tableCacheReusesAndStaysBounded() throws {
        // A hit hands back the stored table itself (the same storage), a miss computes a new one.
        func storage(_ table: RoPETable) -> UnsafePointer<Float>? { table.cos.withUnsafeBufferPointer { $0.baseAddress } }
        let cache = RoPETableCache(maxEntries: 2)
        let config = try Self.config(.none)
        let first = cache.table(for: config, positions: [1, 2, 3])
        let again = cache.table(for: config, positions: [1, 2, 3])
        #expect(storage(first) == storage(again) && cache.count == 1)
        let four = cache.table(for: config, positions: [4])
        #expect(storage(cache.table(for: config, positions: [1, 2, 3])) == storage(first))   // [4] is now the oldest
        _ = cache.table(for: config, positions: [5])   // evicts [4]
        #expect(cache.count == 2)
        #expect(storage(cache.table(for: config, positions: [4])) != storage(four))
        #expect(storage(cache.table(for: config, positions: [5])) != nil)
        // Another configuration or role is another entry.
        let inverse = cache.table(for: config, positions: [5], inverse: true)
        #expect(inverse.sin != cache.table(for: config, positions: [5]).sin)
    }
}
