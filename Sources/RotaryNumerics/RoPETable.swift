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
        let attentionScaling = Float(frequencies.attentionScaling)
        var xposExponentScale: Double = 0
        if case .xpos(let scaleBase) = self.scaling {
            xposExponentScale = (role == .query ? 1 : -1) / scaleBase
        }
        let inverseFrequencies = frequencies.inverseFrequencies, decay = frequencies.xposDecay
        let (cosTable, sinTable) = Self.cosSin(rows: positions.count, pairs: pairs, attentionScaling: attentionScaling,
                                               inverse: inverse) { row, i in
            Double(Float(positions[row]) * inverseFrequencies[i])
        } extraScale: { row, i in
            guard let decay else { return 1 }
            return Float(pow(decay[i], Double(positions[row]) * xposExponentScale))
        }
        return RoPETable(positions: positions, pairCount: pairs, cos: cosTable, sin: sinTable, frequencies: frequencies)
    }
}

extension RoPEConfiguration {
    /// cos and sin `[rows][pairs]` of `angle(row, pair)`, times the attention scaling and then `extraScale(row, pair)`
    /// (xPos; 1 elsewhere, which leaves the product exact); with `inverse`, the exact inverse map (rotation by −θ
    /// divided by the scale), so that `inverse ∘ forward` is the identity.
    @inline(__always)
    static func cosSin(rows: Int, pairs: Int, attentionScaling: Float, inverse: Bool, angle: (Int, Int) -> Double,
                       extraScale: (Int, Int) -> Float) -> (cos: [Float], sin: [Float]) {
        var cosTable = [Float](repeating: 0, count: rows * pairs), sinTable = cosTable
        for row in 0..<rows {
            for i in 0..<pairs {
                let a = angle(row, i), extra = extraScale(row, i)
                var c = Float(cos(a)) * attentionScaling * extra, s = Float(sin(a)) * attentionScaling * extra
                if inverse {
                    let norm = c * c + s * s
                    (c, s) = (c / norm, -s / norm)
                }
                cosTable[row * pairs + i] = c
                sinTable[row * pairs + i] = s
            }
        }
        return (cosTable, sinTable)
    }
}
