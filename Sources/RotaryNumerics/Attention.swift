import Dispatch

/// How positions enter attention.
public enum PositionEncoding: Sendable {
    /// Rotate queries and keys (any RoPE configuration).
    case rope(RoPEConfiguration)
    /// Add the Vaswani et al. sinusoidal encoding to queries and keys before the product.
    case sinusoidal(base: Double)
    /// No position information.
    case none
}

/// The sizes of one attention call. Query heads must be a multiple of key/value heads (GQA).
public struct AttentionShape: Sendable, Equatable {
    public var queryHeads: Int
    public var keyHeads: Int
    public var queryLength: Int
    public var keyLength: Int
    public var headDim: Int
    /// Columns of the values (0 when no values are given).
    public var valueDim: Int

    public init(queryHeads: Int, keyHeads: Int, queryLength: Int, keyLength: Int, headDim: Int, valueDim: Int) {
        self.queryHeads = queryHeads
        self.keyHeads = keyHeads
        self.queryLength = queryLength
        self.keyLength = keyLength
        self.headDim = headDim
        self.valueDim = valueDim
    }

    /// Elements of the score (and weight) tensor: heads × seq_q × seq_k.
    public var scoreCount: Int { queryHeads * queryLength * keyLength }
}

/// What an attention call produced; scores are before the mask.
public struct AttentionResult: Sendable {
    /// `[queryHeads][queryLength][keyLength]`: Q·Kᵀ·scale after the position encoding, before the mask
    /// (only when asked for: it doubles the memory).
    public var scores: [Float]?
    /// `[queryHeads][queryLength][keyLength]`: softmax over the visible keys, 0 where masked.
    public var weights: [Float]
    /// `[queryHeads][queryLength][valueDim]`: weights·V, when values were given.
    public var output: [Float]?
}

public enum Attention {
    /// scores = Q·Kᵀ·scale, mask, softmax, output = weights·V — per query head, with key/value head
    /// `h / (queryHeads / keyHeads)`.
    /// - Parameters:
    ///   - queries: `[queryHeads][queryLength][headDim]`
    ///   - keys: `[keyHeads][keyLength][headDim]`
    ///   - values: `[keyHeads][keyLength][valueDim]` or nil
    ///   - positionsQ: `[queryLength]`, positionsK: `[keyLength]`
    ///   - causal: a query at position p sees the keys at positions ≤ p.
    ///   - scale: nil means 1/√headDim.
    public static func compute(
        queries: [Float], keys: [Float], values: [Float]?, shape: AttentionShape,
        positionsQ: [Int], positionsK: [Int], encoding: PositionEncoding, causal: Bool, scale: Float? = nil,
        keepScores: Bool = false
    ) -> AttentionResult {
        // Every element is written before it is read: no need to zero the buffers first.
        func uninitialized(_ count: Int) -> [Float] { [Float](unsafeUninitializedCapacity: count) { _, n in n = count } }
        var weights = uninitialized(shape.scoreCount)
        var scores = keepScores ? uninitialized(shape.scoreCount) : nil
        var output = values == nil ? nil : uninitialized(shape.queryHeads * shape.queryLength * shape.valueDim)
        var q = queries, k = keys
        encode(&q, &k, shape: shape, positionsQ: positionsQ, positionsK: positionsK, encoding: encoding)
        weights.withUnsafeMutableBufferPointer { w in
            withOptionalPointer(&scores) { s in
                withOptionalPointer(&output) { o in
                    q.withUnsafeBufferPointer { qp in
                        k.withUnsafeBufferPointer { kp in
                            (values ?? []).withUnsafeBufferPointer { vp in
                                computeEncoded(queries: qp.baseAddress!, keys: kp.baseAddress!, values: values == nil ? nil : vp.baseAddress,
                                               shape: shape, positionsQ: positionsQ, positionsK: positionsK, causal: causal,
                                               scale: scale, weights: w.baseAddress!, scores: s, output: o)
                            }
                        }
                    }
                }
            }
        }
        return AttentionResult(scores: scores, weights: weights, output: output)
    }

    /// `kernel` on caller-owned `[heads][seq][dim]` buffers, with the position encoding already applied.
    /// - Parameters:
    ///   - queries: `[queryHeads][queryLength][headDim]`, keys: `[keyHeads][keyLength][headDim]`
    ///   - values: `[keyHeads][keyLength][valueDim]` or nil
    ///   - weights: `[queryHeads][queryLength][keyLength]`, written
    ///   - scores: `[queryHeads][queryLength][keyLength]` or nil, written before the mask
    ///   - output: `[queryHeads][queryLength][valueDim]` or nil, written when values are given
    public static func computeEncoded(
        queries: UnsafePointer<Float>, keys: UnsafePointer<Float>, values: UnsafePointer<Float>?, shape: AttentionShape,
        positionsQ: [Int], positionsK: [Int], causal: Bool, scale: Float?,
        weights: UnsafeMutablePointer<Float>, scores: UnsafeMutablePointer<Float>?, output: UnsafeMutablePointer<Float>?
    ) {
        let (lq, lk, d, dv) = (shape.queryLength, shape.keyLength, shape.headDim, shape.valueDim)
        kernel(queries: queries, queryRows: .headMajor(rows: lq, width: d), keys: keys, keyRows: .headMajor(rows: lk, width: d),
               values: values, valueRows: .headMajor(rows: lk, width: dv), shape: shape,
               mask: causal ? .causal(positionsQ: positionsQ, positionsK: positionsK) : .none, scale: scale,
               weights: weights, scores: scores, output: output, outputRows: .headMajor(rows: lq, width: dv))
    }

    private static func withOptionalPointer<R>(_ array: inout [Float]?, _ body: (UnsafeMutablePointer<Float>?) -> R) -> R {
        guard array != nil else { return body(nil) }
        return array!.withUnsafeMutableBufferPointer { body($0.baseAddress) }
    }

    static func encode(_ q: inout [Float], _ k: inout [Float], shape: AttentionShape,
                       positionsQ: [Int], positionsK: [Int], encoding: PositionEncoding) {
        switch encoding {
        case .none: break
        case .sinusoidal(let base):
            SinusoidalEncoding.add(to: &q, heads: shape.queryHeads, positions: positionsQ, dim: shape.headDim, base: base)
            SinusoidalEncoding.add(to: &k, heads: shape.keyHeads, positions: positionsK, dim: shape.headDim, base: base)
        case .rope(let config):
            // One call: dynamic/longrope choose their frequencies by the largest position of either side.
            let length = max(positionsQ.max() ?? 0, positionsK.max() ?? 0) + 1
            config.apply(config.table(positions: positionsQ, role: .query, sequenceLength: length), to: &q, heads: shape.queryHeads)
            config.apply(config.table(positions: positionsK, role: .key, sequenceLength: length), to: &k, heads: shape.keyHeads)
        }
    }
}
