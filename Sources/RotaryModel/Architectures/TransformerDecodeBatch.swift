#if canImport(Glibc)
import Glibc
#endif
import RotaryNumerics

extension TransformerForward {
    /// One decode step of several independent sequences in one pass over the weights: row r is `tokens[r]` at
    /// position `caches[r].count` of its own sequence, under `configurations[r]` (the model's, or the model's with
    /// that request's RoPE), and its key and value go to `caches[r]`.
    ///
    /// Every row's arithmetic is what `run` does for that token alone: products by the one-input kernels
    /// (`WeightMatrix.linearEachInput`), norms and activations row by row, RoPE and attention over the row's own
    /// cache. So a sequence's logits are bit for bit the same whatever else shares the step; only the weights'
    /// trips through memory are shared.
    /// - Returns: logits `[tokens.count][vocab]`.
    public static func decodeBatch(_ configurations: [ModelConfiguration], weights: some ModelWeightSource, tokens: [Int],
                                   caches: inout [KVCache]) -> [Float] {
        let n = tokens.count
        precondition(n > 0 && configurations.count == n && caches.count == n, "one configuration and one cache per token")
        let c = configurations[0]
        precondition(configurations.allSatisfy { $0.dim == c.dim && $0.layers == c.layers && $0.vocabularySize == c.vocabularySize
                         && $0.kvDim == c.kvDim && $0.feedForwardDim == c.feedForwardDim && $0.embeddingScale == c.embeddingScale },
                     "rows of one model")
        precondition(caches.allSatisfy { $0.count < $0.capacity && $0.kvDim == c.kvDim }, "every cache has room for a position")
        precondition(tokens.allSatisfy { $0 >= 0 && $0 < c.vocabularySize }, "token id out of range")
        let architecture = c.architecture
        let (dim, qDim, kvDim, ffn) = (c.dim, c.queryDim, c.kvDim, c.feedForwardDim)
        let positions = caches.map(\.count)
        func zeros(_ count: Int) -> [Float] { [Float](repeating: 0, count: count) }
        // The rows' configurations differ in RoPE only: the embedding is the model's.
        var x = embed(tokens, positions: positions, c, weights)     // [n][dim] residual stream
        // Each row's own one-position tables, as `run` builds them for a decode step.
        let globalTables = zip(configurations, positions).map { cr, p in
            cr.rope.table(positions: cr.positionEncoding == .rope ? [p] : [], frequencyDivisors: cr.ropeFrequencyFactors)
        }
        let localTables = zip(configurations, positions).map { cr, p in
            cr.localRope.map { $0.table(positions: cr.positionEncoding == .rope ? [p] : []) }
        }
        var normed = zeros(n * dim), inverse = zeros(n), projected = zeros(n * dim)   // [n][dim], [n], [n][dim]
        var query = zeros(n * qDim), attention = zeros(n * qDim)                       // [n][heads·hd]
        var keys = zeros(n * kvDim), values = zeros(n * kvDim)                         // [n][kvDim]
        var gate = zeros(n * ffn), up = zeros(n * ffn), hidden = zeros(n * ffn)        // [n][ffn]
        let exact = c.exactActivations
        for l in 0..<c.layers {
            norm(x, .attentionNorm(l), c, weights, into: &normed, inverse: &inverse, rows: n)
            linear(normed, .query(l), bias: .queryBias(l), rows: n, weights, exact: exact, eachInput: true, into: &query)
            linear(normed, .key(l), bias: .keyBias(l), rows: n, weights, exact: exact, eachInput: true, into: &keys)
            linear(normed, .value(l), bias: .valueBias(l), rows: n, weights, exact: exact, eachInput: true, into: &values)
            for r in 0..<n {
                storeAndRotate(row: r, layer: l, configurations[r], weights, position: positions[r], globalTables[r],
                               localTables[r], query: &query, keys: keys, values: values, cache: &caches[r])
            }
            attendInParallel(layer: l, configurations, positions: positions, query: query, caches: caches, into: &attention)
            linear(attention, .attentionOutput(l), rows: n, weights, exact: exact, eachInput: true, into: &projected)
            if architecture.outputNorms { normInPlace(&projected, .attentionOutputNorm(l), c, weights, rows: n) }
            for i in 0..<(n * dim) { x[i] += projected[i] }
            norm(x, .feedForwardNorm(l), c, weights, into: &normed, inverse: &inverse, rows: n)
            linear(normed, .gate(l), rows: n, weights, exact: exact, eachInput: true, into: &gate)
            linear(normed, .up(l), rows: n, weights, exact: exact, eachInput: true, into: &up)
            gate.withUnsafeBufferPointer { g in up.withUnsafeBufferPointer { u in hidden.withUnsafeMutableBufferPointer { h in
                for r in 0..<n {   // row by row, as alone: a vectorized activation then meets the same lanes
                    let (gr, ur, hr) = (g.baseAddress! + r * ffn, u.baseAddress! + r * ffn, h.baseAddress! + r * ffn)
                    switch architecture.activation {
                    case .silu: SwiGLU.apply(gate: gr, up: ur, count: ffn, into: hr)
                    case .geluTanh: GeGLU.apply(gate: gr, up: ur, count: ffn, into: hr)
                    }
                }
            } } }
            linear(hidden, .down(l), rows: n, weights, exact: exact, eachInput: true, into: &projected)
            if architecture.outputNorms { normInPlace(&projected, .feedForwardOutputNorm(l), c, weights, rows: n) }
            for i in 0..<(n * dim) { x[i] += projected[i] }
        }
        for r in 0..<n { caches[r].count = positions[r] + 1 }
        return head(x, rows: n, c, weights, eachInput: true, normed: &normed, inverse: &inverse)   // [n][vocab]
    }

    /// Row `row`'s key and value into its cache at `position` in layer `layer`, with q/k norms and RoPE as the
    /// architecture has them (the query rotated in place). query `[n][heads·hd]`, keys and values `[n][kvDim]`.
    private static func storeAndRotate(row r: Int, layer l: Int, _ c: ModelConfiguration, _ weights: some ModelWeightSource,
                                       position: Int, _ global: RoPETable, _ local: RoPETable?, query: inout [Float],
                                       keys: [Float], values: [Float], cache: inout KVCache) {
        let kvDim = c.kvDim
        let table = if case .slidingWindow = c.layerAttention[l] { local ?? global } else { global }
        let slot = (l * cache.capacity + position) * kvDim
        cache.keys.withUnsafeMutableBufferPointer { cacheKeys in
            cache.values.withUnsafeMutableBufferPointer { cacheValues in
                let kSlot = cacheKeys.baseAddress! + slot, vSlot = cacheValues.baseAddress! + slot
                for i in 0..<kvDim { kSlot[i] = keys[r * kvDim + i]; vSlot[i] = values[r * kvDim + i] }
                query.withUnsafeMutableBufferPointer { q in
                    let queryRow = q.baseAddress! + r * c.queryDim
                    if c.architecture.queryKeyNorms {
                        headNorm(queryRow, .queryNorm(l), heads: c.heads, rows: 1, c, weights)
                        headNorm(kSlot, .keyNorm(l), heads: c.kvHeads, rows: 1, c, weights)
                    }
                    rotate(queryRow, heads: c.heads, tokens: 1, c, table, layer: l)
                    rotate(kSlot, heads: c.kvHeads, tokens: 1, c, table, layer: l)
                }
            }
        }
    }

    /// Every row's attention of its query over its own cache in layer `layer`, rows split over the compute threads
    /// (each row's kernel is the one a step alone runs: its heads' sums do not depend on the thread).
    /// query `[n][heads·hd]` (rotated), attention `[n][heads·hd]` (written).
    private static func attendInParallel(layer l: Int, _ configurations: [ModelConfiguration], positions: [Int], query: [Float],
                                         caches: [KVCache], into attention: inout [Float]) {
        let c = configurations[0]
        let (hd, qDim, kvDim) = (c.headDim, c.queryDim, c.kvDim)
        let work = positions.reduce(0) { $0 + ($1 + 1) } / max(positions.count, 1) * c.heads * hd * 2
        query.withUnsafeBufferPointer { q in
            attention.withUnsafeMutableBufferPointer { out in
                let (queries, output) = (q.baseAddress!, out.baseAddress!)
                Parallel.forEachRange(positions.count, costPerItem: work) { rows in
                    for r in rows {
                        let position = positions[r]
                        let mask: AttentionMask = switch configurations[r].layerAttention[l] {
                        case .global: .causalAfter(start: position)
                        case .slidingWindow(let window): .slidingWindowAfter(start: position, window: window)
                        }
                        let shape = AttentionShape(queryHeads: c.heads, keyHeads: c.kvHeads, queryLength: 1, keyLength: position + 1,
                                                   headDim: hd, valueDim: hd)
                        let layerStart = l * caches[r].capacity * kvDim
                        caches[r].keys.withUnsafeBufferPointer { keys in
                            caches[r].values.withUnsafeBufferPointer { values in
                                Attention.kernel(queries: queries + r * qDim, queryRows: .tokenMajor(width: hd, rowStride: qDim),
                                                 keys: keys.baseAddress! + layerStart, keyRows: .tokenMajor(width: hd, rowStride: kvDim),
                                                 values: values.baseAddress! + layerStart,
                                                 valueRows: .tokenMajor(width: hd, rowStride: kvDim), shape: shape, mask: mask,
                                                 scale: configurations[r].queryScale, weights: nil, scores: nil,
                                                 output: output + r * qDim, outputRows: .tokenMajor(width: hd, rowStride: qDim))
                            }
                        }
                    }
                }
            }
        }
    }
}
