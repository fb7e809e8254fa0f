import Testing
import RotaryModel
import RotaryNumerics
@testable import RotaryTraining

/// Central finite differences against the backward pass on a whole small random model, every tensor.
///
/// In Float: the loss (~3.7 here) is summed in Double but each term is a Float, so it carries
/// rounding noise of ~1e-7·3.7 per evaluation; with h = 1e-2 that is ~4e-5 in a difference quotient, and
/// the truncation error O(h²·f''') is of the same order for these weights. The tolerance
/// 1e-3 + 2e-2·|g| is ~25× that, and a wrong backward (a dropped term, a missing transpose) is off by
/// far more than 2% of the gradient — the golden test pins the exact values.
@Suite struct GradientCheckTests {
    static func model(tied: Bool, encoding: PositionEncodingKind = .rope, embeddingScale: Float? = nil) throws -> TrainingParameters {
        let rope = try RoPEConfiguration(headDim: 8, theta: 10_000, layout: .interleaved, maxPositionEmbeddings: 16)
        var c = ModelConfiguration(dim: 16, layers: 2, heads: 2, kvHeads: 1, feedForwardDim: 24, contextLength: 16,
                                   vocabularySize: 40, rmsEpsilon: 1e-5, rope: rope, positionEncoding: encoding)
        c.embeddingScale = embeddingScale
        var p = TrainingParameters(configuration: c, tiedOutput: tied, seed: 11, std: 0.3)
        // Norm weights away from 1 so their gradients are exercised off the trivial point.
        var generator = SplitMix64(seed: 5)
        for name in p.names where name.hasSuffix("norm.weight") {
            p.tensors[name] = p.tensors[name]!.map { $0 + Float(generator.nextGaussian()) * 0.2 }
        }
        return p
    }

    static let batch = TrainingBatch(inputs: [[3, 17, 5, 39, 0, 12, 7, 7], [1, 2, 3, 4, 5, 6, 7, 8]],
                                     targets: [[17, 5, 39, 0, 12, 7, 7, 21], [2, 3, 4, 5, 6, 7, 8, 9]])

    @Test(arguments: [(false, PositionEncodingKind.rope, nil), (true, .rope, nil), (false, .sinusoidal, nil), (false, .learned, nil),
                      (true, .none, nil), (false, .sinusoidal, 4), (true, .rope, 0.5)] as [(Bool, PositionEncodingKind, Float?)])
    func backwardMatchesFiniteDifferences(tied: Bool, encoding: PositionEncodingKind, embeddingScale: Float?) throws {
        let p = try Self.model(tied: tied, encoding: encoding, embeddingScale: embeddingScale)
        let analytic = LlamaTrainer.lossAndGradients(p, Self.batch).gradients
        var generator = SplitMix64(seed: 3)
        let h: Float = 1e-2
        for name in p.names {
            let count = p.tensors[name]!.count
            // The largest-gradient element plus three random ones per tensor.
            let largest = analytic.tensors[name]!.indices.max { abs(analytic.tensors[name]![$0]) < abs(analytic.tensors[name]![$1]) }!
            for index in [largest] + (0..<3).map({ _ in Int(generator.next() % UInt64(count)) }) {
                var plus = p, minus = p
                plus.tensors[name]![index] += h
                minus.tensors[name]![index] -= h
                let numeric = (LlamaTrainer.loss(plus, Self.batch) - LlamaTrainer.loss(minus, Self.batch)) / Double(2 * h)
                let g = Double(analytic.tensors[name]![index])
                #expect(abs(numeric - g) <= 1e-3 + 2e-2 * abs(g), "\(name)[\(index)]: numeric \(numeric), backward \(g)")
            }
        }
    }
}
