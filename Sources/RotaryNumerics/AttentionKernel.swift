/// Where the rows of each head sit in a flat buffer: row r of head h starts at `h·headStride + r·rowStride`.
/// One kernel then reads `/attention`'s `[heads][seq][dim]` tensors and a model's `[seq][heads·dim]` rows alike.
public struct HeadRows: Sendable, Equatable {
    public var headStride: Int
    public var rowStride: Int

    public init(headStride: Int, rowStride: Int) {
        self.headStride = headStride
        self.rowStride = rowStride
    }

    /// `[heads][rows][width]`.
    public static func headMajor(rows: Int, width: Int) -> HeadRows { HeadRows(headStride: rows * width, rowStride: width) }
    /// `[rows][heads][width]`, rows `heads·width` apart — or `rowStride` apart for a view into wider rows.
    public static func tokenMajor(width: Int, rowStride: Int) -> HeadRows { HeadRows(headStride: width, rowStride: rowStride) }
}

/// Which keys each query sees.
public enum AttentionMask: Sendable {
    /// Every key.
    case none
    /// Key j is visible to query r when `positionsK[j] <= positionsQ[r]`.
    case causal(positionsQ: [Int], positionsK: [Int])
    /// A model's cache: query r sits at position `start + r` and key j at position j.
    case causalAfter(start: Int)
    /// As `causalAfter`, but query r sees only the last `window` positions: keys j with
    /// `start + r − window < j ≤ start + r`.
    case slidingWindowAfter(start: Int, window: Int)
}

extension Attention {
    /// scores = Q·Kᵀ·scale, mask, softmax, output = weights·V — per query head, with key/value head
    /// `h / (queryHeads / keyHeads)`; heads (and blocks of query rows, when heads are fewer than threads)
    /// over the compute threads. The one attention kernel: `/attention`, inference and training call it.
    /// - Parameters:
    ///   - queries: `queryHeads` × `queryLength` rows of `headDim`, laid out by `queryRows`
    ///   - keys: `keyHeads` × `keyLength` rows of `headDim` (`keyRows`)
    ///   - values: `keyHeads` × `keyLength` rows of `valueDim` (`valueRows`), or nil
    ///   - weights: `[queryHeads][queryLength][keyLength]`, written when given (scratch is used otherwise)
    ///   - scores: `[queryHeads][queryLength][keyLength]`, written before the mask when given
    ///   - output: `queryHeads` × `queryLength` rows of `valueDim` (`outputRows`), written when values are given
    ///   - scale: nil means 1/√headDim.
    public static func kernel(
        queries: UnsafePointer<Float>, queryRows: HeadRows, keys: UnsafePointer<Float>, keyRows: HeadRows,
        values: UnsafePointer<Float>?, valueRows: HeadRows, shape: AttentionShape, mask: AttentionMask, scale: Float?,
        weights: UnsafeMutablePointer<Float>?, scores: UnsafeMutablePointer<Float>?,
        output: UnsafeMutablePointer<Float>?, outputRows: HeadRows
    ) {
        precondition(shape.queryHeads % shape.keyHeads == 0, "query heads must be a multiple of key heads")
        let (lq, lk, d, dv) = (shape.queryLength, shape.keyLength, shape.headDim, shape.valueDim)
        guard lq > 0, shape.queryHeads > 0 else { return }
        let group = shape.queryHeads / shape.keyHeads
        let alpha = scale ?? 1 / Float(d).squareRoot()
        let keysSorted: Bool
        if case .causal(_, let positionsK) = mask { keysSorted = zip(positionsK, positionsK.dropFirst()).allSatisfy { $0 <= $1 } }
        else { keysSorted = true }
        // Tasks are (head, block of query rows): every head's rows can go to a different thread, and a
        // block's scores stay in cache for its softmax and its second product.
        let threads = Parallel.threadCount
        let blocks = shape.queryHeads >= threads ? 1 : min(lq, threads)
        Parallel.forEachRange(shape.queryHeads * blocks, costPerItem: lq * lk * d / blocks, minimumWork: 1 << 14) { tasks in
            var scratch: [Float] = [], gathered: [Float] = []
            for task in tasks {
                let h = task / blocks, block = task % blocks
                let rows = (lq * block / blocks)..<(lq * (block + 1) / blocks)
                guard !rows.isEmpty else { continue }
                let kv = h / group
                let q = queries + h * queryRows.headStride + rows.lowerBound * queryRows.rowStride
                let k = keys + kv * keyRows.headStride
                if weights == nil && scratch.count < rows.count * lk { scratch = [Float](repeating: 0, count: rows.count * lk) }
                scratch.withUnsafeMutableBufferPointer { scratchRows in
                    let w = weights.map { $0 + (h * lq + rows.lowerBound) * lk } ?? scratchRows.baseAddress!
                    if lq == 1 {
                        // A decode step: dot products straight from the key rows.
                        for j in 0..<lk { w[j] = alpha * MatrixMultiply.dot(q, k + j * keyRows.rowStride, d) }
                    } else {
                        MatrixMultiply.timesTransposed(q, lda: queryRows.rowStride, k, ldb: keyRows.rowStride, w, ldc: lk,
                                                       m: rows.count, n: lk, k: d, alpha: alpha)
                    }
                    scores.map { ($0 + (h * lq + rows.lowerBound) * lk).update(from: w, count: rows.count * lk) }
                    var visibleMost = 0
                    for r in rows {
                        let row = w + (r - rows.lowerBound) * lk
                        switch mask {
                        case .none:
                            Softmax.normalizeRow(row, count: lk, visibleCount: lk)
                            visibleMost = lk
                        case .causalAfter(let start):
                            Softmax.normalizeRow(row, count: lk, visibleCount: start + r + 1)
                            visibleMost = max(visibleMost, min(lk, start + r + 1))
                        case .slidingWindowAfter(let start, let window):
                            let end = min(lk, start + r + 1), first = max(0, end - window)
                            row.update(repeating: 0, count: first)
                            Softmax.normalizeRow(row + first, count: lk - first, visibleCount: end - first)
                            visibleMost = max(visibleMost, end)
                        case .causal(let positionsQ, let positionsK):
                            normalize(row, columns: lk, queryPosition: positionsQ[r], positionsK: positionsK,
                                      keysSorted: keysSorted, scratch: &gathered)
                            visibleMost = lk
                        }
                    }
                    guard let values, let output else { return }
                    let v = values + kv * valueRows.headStride
                    let o = output + h * outputRows.headStride + rows.lowerBound * outputRows.rowStride
                    if lq == 1 {
                        o.update(repeating: 0, count: dv)
                        for j in 0..<visibleMost {
                            let weight = w[j], vj = v + j * valueRows.rowStride
                            for i in 0..<dv { o[i] += weight * vj[i] }
                        }
                    } else {
                        MatrixMultiply.times(w, lda: lk, v, ldb: valueRows.rowStride, o, ldc: outputRows.rowStride,
                                             m: rows.count, n: dv, k: lk)
                    }
                }
            }
        }
    }

    /// Causal softmax of one row of scores by positions.
    /// - Parameters: row `[columns]`; key j is visible when `positionsK[j] <= queryPosition`.
    static func normalize(_ row: UnsafeMutablePointer<Float>, columns: Int, queryPosition: Int, positionsK: [Int],
                          keysSorted: Bool, scratch: inout [Float]) {
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
