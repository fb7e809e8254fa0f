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

    /// The kernel on caller-owned buffers, with the position encoding already applied to Q and K.
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
        precondition(shape.queryHeads % shape.keyHeads == 0, "query heads must be a multiple of key heads")
        let (lq, lk, d, dv) = (shape.queryLength, shape.keyLength, shape.headDim, shape.valueDim)
        let group = shape.queryHeads / shape.keyHeads
        let alpha = scale ?? 1 / Float(d).squareRoot()
        let keysSorted = zip(positionsK, positionsK.dropFirst()).allSatisfy { $0 <= $1 }
        // Tasks are (head, block of query rows): every head's rows can go to a different core, and a
        // block's scores stay in cache for its softmax and its second product.
        let blocks = shape.queryHeads >= Parallel.threadCount ? 1 : min(lq, Parallel.threadCount)
        Parallel.forEachRange(shape.queryHeads * blocks, costPerItem: lq * lk * d / blocks) { tasks in
            var scratch: [Float] = []
            for task in tasks {
                let h = task / blocks, block = task % blocks
                let rows = (lq * block / blocks)..<(lq * (block + 1) / blocks)
                guard !rows.isEmpty else { continue }
                let kv = h / group
                let first = weights + (h * lq + rows.lowerBound) * lk
                MatrixMultiply.timesTransposed(queries + (h * lq + rows.lowerBound) * d, keys + kv * lk * d, first,
                                               m: rows.count, n: lk, k: d, alpha: alpha)
                scores.map { ($0 + (h * lq + rows.lowerBound) * lk).update(from: first, count: rows.count * lk) }
                for r in rows {
                    normalize(first + (r - rows.lowerBound) * lk, columns: lk, queryPosition: positionsQ[r],
                              positionsK: positionsK, keysSorted: keysSorted, causal: causal, scratch: &scratch)
                }
                if let values, let output {
                    MatrixMultiply.times(first, values + kv * lk * dv, output + (h * lq + rows.lowerBound) * dv,
                                         m: rows.count, n: dv, k: lk)
                }
            }
        }
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

    /// Masked softmax of one row of scores.
    /// - Parameters: row `[columns]`; key j is visible when not causal or `positionsK[j] <= queryPosition`.
    static func normalize(_ row: UnsafeMutablePointer<Float>, columns: Int, queryPosition: Int, positionsK: [Int],
                          keysSorted: Bool, causal: Bool, scratch: inout [Float]) {
        guard causal else { return Softmax.normalizeRow(row, count: columns, visibleCount: columns) }
        if keysSorted {
            // Visible keys form a prefix: binary search its end.
            var low = 0, high = columns
            while low < high {
                let mid = (low + high) / 2
                if positionsK[mid] <= queryPosition { low = mid + 1 } else { high = mid }
            }
            return Softmax.normalizeRow(row, count: columns, visibleCount: low)
        }
        // Gather the visible entries, normalise them, scatter back.
        scratch.removeAll(keepingCapacity: true)
        for j in 0..<columns where positionsK[j] <= queryPosition { scratch.append(row[j]) }
        scratch.withUnsafeMutableBufferPointer { visible in
            if let start = visible.baseAddress { Softmax.normalizeRow(start, count: visible.count, visibleCount: visible.count) }
        }
        var next = 0
        for j in 0..<columns {
            if positionsK[j] <= queryPosition { row[j] = scratch[next]; next += 1 } else { row[j] = 0 }
        }
    }
}
