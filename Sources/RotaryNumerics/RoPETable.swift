#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// cos and sin for every (row, pair) of one call, ready for the rotation kernel.
/// Rotation of pair (x_a, x_b) at row r: `(x_a·C − x_b·S, x_b·C + x_a·S)` with C = cos[r][i], S = sin[r][i].
public struct RoPETable: Sendable {
    /// `[rows]` absolute positions.
    public let positions: [Int]
    public let pairCount: Int
    /// `[rows][pairCount]`, attention scaling (and the xPos scale) already multiplied in.
    public let cos: [Float]
    /// `[rows][pairCount]`, likewise.
    public let sin: [Float]
    public let frequencies: RoPEFrequencies

    public var rows: Int { positions.count }

    /// The transposed map (sin negated): the gradient of a rotation, for any scaling (s·Rᵀ for s·R).
    public func transposed() -> RoPETable {
        RoPETable(positions: positions, pairCount: pairCount, cos: cos, sin: sin.map { -$0 }, frequencies: frequencies)
    }
}

extension RoPEConfiguration {
    /// Builds the table for these positions. `inverse` gives the exact inverse map (rotation by −θ,
    /// divided by any scale), so that `inverse ∘ forward` is the identity for every variant.
    /// The angle is `Float(p) · θ_i` rounded to Float, as transformers computes it.
    /// - Parameter sequenceLength: what `dynamic`/`longrope` choose by; nil means max(positions) + 1.
    /// - Parameter frequencyDivisors: per-pair divisors of θ_i (Llama 3's `rope_freqs.weight`), `[pairCount]`.
    public func table(positions: [Int], role: RoPERole = .query, inverse: Bool = false,
                      sequenceLength: Int? = nil, frequencyDivisors: [Float]? = nil) -> RoPETable {
        var frequencies = frequencies(sequenceLength: sequenceLength ?? ((positions.max() ?? -1) + 1))
        if let frequencyDivisors {
            precondition(frequencyDivisors.count == pairCount, "one divisor per rotated pair")
            for i in 0..<pairCount { frequencies.inverseFrequencies[i] /= frequencyDivisors[i] }
        }
        let pairs = pairCount
        var cosTable = [Float](repeating: 0, count: positions.count * pairs)
        var sinTable = [Float](repeating: 0, count: positions.count * pairs)
        let attentionScaling = Float(frequencies.attentionScaling)
        var xposExponentScale: Double = 0
        if case .xpos(let scaleBase) = self.scaling {
            xposExponentScale = (role == .query ? 1 : -1) / scaleBase
        }
        cosTable.withUnsafeMutableBufferPointer { cosOut in
            sinTable.withUnsafeMutableBufferPointer { sinOut in
                for (row, position) in positions.enumerated() {
                    let p = Float(position)
                    for i in 0..<pairs {
                        let angle = Double(p * frequencies.inverseFrequencies[i])
                        var c = Float(cos(angle)) * attentionScaling
                        var s = Float(sin(angle)) * attentionScaling
                        if let decay = frequencies.xposDecay {
                            let scale = Float(pow(decay[i], Double(position) * xposExponentScale))
                            c *= scale
                            s *= scale
                        }
                        if inverse {
                            let norm = c * c + s * s
                            c = c / norm
                            s = -s / norm
                        }
                        cosOut[row * pairs + i] = c
                        sinOut[row * pairs + i] = s
                    }
                }
            }
        }
        return RoPETable(positions: positions, pairCount: pairs, cos: cosTable, sin: sinTable, frequencies: frequencies)
    }
}
