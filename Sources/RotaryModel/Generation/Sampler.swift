import RotaryNumerics
#if canImport(Glibc)
import Glibc
#endif

/// How the next token is chosen. llama.cpp's order: repetition penalty, top-k, top-p, min-p,
/// temperature, then one draw from the seeded generator (so a seed reproduces the run).
public struct SamplingParameters: Sendable, Equatable {
    /// 0 means greedy (argmax).
    public var temperature: Double = 0.8
    /// 0 keeps every token.
    public var topK: Int = 40
    public var topP: Double = 0.95
    public var minP: Double = 0.05
    /// 1 is off; > 1 makes tokens already seen less likely.
    public var repeatPenalty: Double = 1.0
    /// How many recent tokens the penalty looks at.
    public var repeatWindow: Int = 64
    public var seed: UInt64 = 0

    public init() {}
}

public struct Sampler: Sendable {
    public let parameters: SamplingParameters
    private var generator: SplitMix64

    public init(_ parameters: SamplingParameters) {
        self.parameters = parameters
        generator = SplitMix64(seed: parameters.seed)
    }

    /// The next token for `logits` (`[vocab]`) after `history`.
    public mutating func next(_ logits: [Float], history: [Int]) -> Int {
        var scores = logits
        let p = parameters
        if p.repeatPenalty != 1 {
            for token in Set(history.suffix(p.repeatWindow)) where token >= 0 && token < scores.count {
                // In Double, then clamped: a tiny penalty (1e-300 is accepted) must not make infinities.
                let score = Double(scores[token])
                let penalized = score > 0 ? score / p.repeatPenalty : score * p.repeatPenalty
                scores[token] = Float(min(max(penalized, -Double(Float.greatestFiniteMagnitude)), Double(Float.greatestFiniteMagnitude)))
            }
        }
        if p.temperature <= 0 { return Self.argmax(scores) }
        var candidates = p.topK > 0 ? Self.leading(p.topK, of: scores) : Self.ranked(scores)
        // Probabilities at temperature 1 decide top-p and min-p, as llama.cpp does.
        var probabilities = Self.softmax(candidates.map { Double(scores[$0]) })
        if p.topP < 1 {
            var cumulative = 0.0, keep = candidates.count
            for (i, probability) in probabilities.enumerated() {
                cumulative += probability
                if cumulative >= p.topP { keep = i + 1; break }
            }
            candidates = Array(candidates.prefix(keep))
            probabilities = Array(probabilities.prefix(keep))
        }
        if p.minP > 0, let top = probabilities.first {
            let keep = max(1, probabilities.prefix { $0 >= p.minP * top }.count)
            candidates = Array(candidates.prefix(keep))
        }
        probabilities = Self.softmax(candidates.map { Double(scores[$0]) }, temperature: p.temperature)
        let draw = Double(generator.next() >> 11) / 9_007_199_254_740_992
        var cumulative = 0.0
        for (i, probability) in probabilities.enumerated() {
            cumulative += probability
            if draw < cumulative { return candidates[i] }
        }
        // Rounding left the sum just under the draw: the last candidate that can be drawn at all.
        return candidates[probabilities.lastIndex { $0 > 0 } ?? 0]
    }

    /// The first `k` token ids in the order of sampling (higher score first, then the lower id): what sorting the
    /// whole vocabulary and keeping k gives, in one pass that keeps the k best so far (a sampled token of a
    /// 49,152-token vocabulary cost a full sort, about as much as a decode step of a small model). Scores with a
    /// NaN, which the order does not rank, take the full sort as before.
    static func leading(_ k: Int, of scores: [Float]) -> [Int] {
        @inline(__always) func before(_ a: Int, _ b: Int) -> Bool { scores[a] > scores[b] || (scores[a] == scores[b] && a < b) }
        guard k < scores.count, !scores.contains(where: \.isNaN) else {
            return Array(scores.indices.sorted(by: before).prefix(k))
        }
        var best: [Int] = []   // sorted by `before`, at most k
        best.reserveCapacity(k + 1)
        for id in scores.indices {
            if best.count == k, !before(id, best[k - 1]) { continue }
            var low = 0, high = best.count   // the first place whose id comes after this one
            while low < high {
                let mid = (low + high) / 2
                if before(best[mid], id) { low = mid + 1 } else { high = mid }
            }
            best.insert(id, at: low)
            if best.count > k { best.removeLast() }
        }
        return best
    }

    /// Every token id in the order of sampling (higher score first, then the lower id), sorted as 64-bit keys
    /// (the score's order-preserving bits, flipped for descending, above the id) rather than by a comparison closure.
    /// Scores with a NaN take the comparison sort.
    static func ranked(_ scores: [Float]) -> [Int] {
        guard !scores.contains(where: \.isNaN), scores.count <= Int(UInt32.max) else {
            return scores.indices.sorted { scores[$0] > scores[$1] || (scores[$0] == scores[$1] && $0 < $1) }
        }
        var keys = scores.enumerated().map { id, score -> UInt64 in
            let bits = (score == 0 ? 0 : score).bitPattern   // −0 ties +0, as the comparison has it
            let ascending = bits & 0x8000_0000 != 0 ? ~bits : bits | 0x8000_0000
            return UInt64(~ascending) << 32 | UInt64(id)
        }
        keys.sort()
        return keys.map { Int($0 & 0xFFFF_FFFF) }
    }

    public static func argmax(_ values: [Float]) -> Int {
        var best = 0
        for i in 1..<values.count where values[i] > values[best] { best = i }
        return best
    }

    /// softmax(values / temperature), total for every temperature > 0: the differences from the
    /// largest value are divided (never the values), so a tiny temperature gives −∞ → 0 for the others
    /// and 1 for the largest rather than ∞ − ∞ = NaN.
    static func softmax(_ values: [Double], temperature: Double = 1) -> [Double] {
        let top = values.max() ?? 0
        let exps = values.map { $0 == top ? 1 : exp(($0 - top) / temperature) }
        let sum = exps.reduce(0, +)
        return exps.map { $0 / sum }
    }

    /// log Σ exp(logits), with the exponentials in SIMD and the sum in Double.
    public static func logSumExp(_ logits: ArraySlice<Float>) -> Double {
        guard let top = logits.max() else { return -.infinity }
        return logits.withUnsafeBufferPointer { buffer in
            let n = buffer.count, p = buffer.baseAddress!
            var total = 0.0, i = 0
            let shift = SIMD8<Float>(repeating: top)
            while i + 8 <= n {
                total += Double(Softmax.exp8(UnsafeRawPointer(p + i).loadUnaligned(as: SIMD8<Float>.self) - shift).sum())
                i += 8
            }
            while i < n { total += exp(Double(p[i] - top)); i += 1 }
            return log(total) + Double(top)
        }
    }
}
