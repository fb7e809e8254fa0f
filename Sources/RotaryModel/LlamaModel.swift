import Dispatch
import RotaryNumerics
#if canImport(Glibc)
import Glibc
#endif

/// A Llama-architecture language model: embedding, blocks of (RMSNorm, attention with RoPE and
/// grouped-query heads, RMSNorm, SwiGLU), final norm, output head. Immutable; many callers may share it,
/// each with its own `KVCache`.
public final class LlamaModel: Sendable {
    public let configuration: LlamaConfiguration
    public let weights: LlamaWeights
    public let tokenizer: SentencePieceTokenizer
    public let file: GGUFFile

    public init(file: GGUFFile) throws(GGUFError) {
        self.file = file
        tokenizer = try SentencePieceTokenizer(gguf: file)
        configuration = try LlamaConfiguration(gguf: file, vocabularySize: tokenizer.vocabularySize)
        weights = try LlamaWeights(file: file, configuration: configuration)
    }

    public convenience init(path: String) throws(GGUFError) {
        try self.init(file: GGUFFile(path: path))
    }

    public func makeCache(capacity: Int? = nil) -> KVCache { KVCache(configuration: configuration, capacity: capacity) }

    /// Runs `tokens` at positions `cache.count…` through the model, appending to the cache.
    /// - Returns: logits `[tokens.count][vocab]` when `allLogits`, else `[vocab]` for the last token.
    public func forward(_ tokens: [Int], cache: inout KVCache, allLogits: Bool = false) -> [Float] {
        forward(tokens, cache: &cache, allLogits: allLogits, capture: nil)
    }

    /// The attention weights of every head of `layer` for `tokens` read from position 0.
    /// - Returns: `[heads][tokens.count][tokens.count]`, causal (zeros above the diagonal).
    public func attentionWeights(_ tokens: [Int], layer: Int) -> [Float] {
        precondition(layer >= 0 && layer < configuration.layers, "no layer \(layer)")
        let n = tokens.count
        var weights = [Float](repeating: 0, count: configuration.heads * n * n)
        var cache = makeCache(capacity: n)
        weights.withUnsafeMutableBufferPointer { buffer in
            _ = forward(tokens, cache: &cache, allLogits: false, capture: (layer, buffer.baseAddress!))
        }
        return weights
    }

    private func forward(_ tokens: [Int], cache: inout KVCache, allLogits: Bool,
                         capture: (layer: Int, weights: UnsafeMutablePointer<Float>)?) -> [Float] {
        let c = configuration
        let n = tokens.count
        precondition(n > 0, "no tokens")
        precondition(cache.count + n <= cache.capacity, "the cache holds \(cache.capacity) positions")
        precondition(tokens.allSatisfy { $0 >= 0 && $0 < c.vocabularySize }, "token id out of range")
        let start = cache.count
        let positions = Array(start..<(start + n))
        let qDim = c.heads * c.headDim
        var x = [Float](repeating: 0, count: n * c.dim)                 // [n][dim] residual stream
        var normed = [Float](repeating: 0, count: n * c.dim)            // [n][dim]
        var q = [Float](repeating: 0, count: n * qDim)                  // [n][heads·hd]
        var attention = [Float](repeating: 0, count: n * qDim)          // [n][heads·hd]
        var gate = [Float](repeating: 0, count: n * c.feedForwardDim)   // [n][ffn]
        var up = [Float](repeating: 0, count: n * c.feedForwardDim)     // [n][ffn]
        var projected = [Float](repeating: 0, count: n * c.dim)         // [n][dim]
        let span = start + n
        for (t, token) in tokens.enumerated() {
            for i in 0..<c.dim { x[t * c.dim + i] = weights.tokenEmbedding.pointer[token * c.dim + i] }
        }
        addAbsolutePositions(&x, positions: positions)
        let ropeTable = c.rope.table(positions: c.positionEncoding == .rope ? positions : [])
        let layerStride = cache.capacity * cache.kvDim
        for (l, layer) in weights.layers.enumerated() {
            rmsNorm(x, layer.attentionNorm, into: &normed, rows: n)
            linear(normed, layer.query, into: &q, rows: n)
            cache.keys.withUnsafeMutableBufferPointer { keys in
                cache.values.withUnsafeMutableBufferPointer { values in
                    let kSlot = keys.baseAddress! + l * layerStride + start * c.kvDim
                    let vSlot = values.baseAddress! + l * layerStride + start * c.kvDim
                    normed.withUnsafeBufferPointer { input in
                        linear(input.baseAddress!, layer.key, into: kSlot, rows: n)
                        linear(input.baseAddress!, layer.value, into: vSlot, rows: n)
                    }
                    // RoPE on each head of the new queries and keys (token-major rows of heads).
                    q.withUnsafeMutableBufferPointer { qp in
                        rotate(qp.baseAddress!, heads: c.heads, tokens: n, table: ropeTable)
                    }
                    rotate(kSlot, heads: c.kvHeads, tokens: n, table: ropeTable)
                    let layerKeys = UnsafePointer(keys.baseAddress! + l * layerStride)
                    let layerValues = UnsafePointer(values.baseAddress! + l * layerStride)
                    attend(q, keys: layerKeys, values: layerValues, start: start, tokens: n, into: &attention,
                           capture: capture?.layer == l ? capture?.weights : nil)
                }
            }
            linear(attention, layer.attentionOutput, into: &projected, rows: n)
            for i in 0..<(n * c.dim) { x[i] += projected[i] }
            rmsNorm(x, layer.feedForwardNorm, into: &normed, rows: n)
            linear(normed, layer.gate, into: &gate, rows: n)
            linear(normed, layer.up, into: &up, rows: n)
            for i in 0..<gate.count {
                let g = gate[i]
                gate[i] = g / (1 + expf(-g)) * up[i]   // SiLU(gate) · up
            }
            linear(gate, layer.down, into: &projected, rows: n)
            for i in 0..<(n * c.dim) { x[i] += projected[i] }
        }
        cache.count = span
        let outputRows = allLogits ? n : 1
        let firstRow = n - outputRows
        var finalNormed = [Float](repeating: 0, count: outputRows * c.dim)
        rmsNorm(Array(x[(firstRow * c.dim)...]), weights.outputNorm, into: &finalNormed, rows: outputRows)
        var logits = [Float](repeating: 0, count: outputRows * c.vocabularySize)
        linear(finalNormed, weights.output, into: &logits, rows: outputRows)
        return logits
    }

    /// x / sqrt(mean(x²) + ε) · w for each row; the mean of squares is accumulated in Double as ggml does.
    /// - Parameters: x `[rows][dim]`, output `[rows][dim]`
    private func rmsNorm(_ x: [Float], _ weight: WeightMatrix, into output: inout [Float], rows: Int) {
        let dim = configuration.dim
        for r in 0..<rows {
            var sum = 0.0
            for i in 0..<dim { let v = x[r * dim + i]; sum += Double(v * v) }
            let scale = 1 / (Float(sum / Double(dim)) + configuration.rmsEpsilon).squareRoot()
            for i in 0..<dim { output[r * dim + i] = x[r * dim + i] * scale * weight.pointer[i] }
        }
    }

    /// y = x · Wᵀ: a matrix-vector product for one row, a matrix product for several.
    /// - Parameters: x `[rows][W.columns]`, y `[rows][W.rows]`
    private func linear(_ x: [Float], _ w: WeightMatrix, into y: inout [Float], rows: Int) {
        x.withUnsafeBufferPointer { input in
            y.withUnsafeMutableBufferPointer { out in linear(input.baseAddress!, w, into: out.baseAddress!, rows: rows) }
        }
    }

    private func linear(_ x: UnsafePointer<Float>, _ w: WeightMatrix, into y: UnsafeMutablePointer<Float>, rows: Int) {
        MatrixMultiply.linear(x, count: rows, w.pointer, outputs: w.rows, inputs: w.columns, y)
    }

    /// Sinusoidal or learned absolute positions, added to the embeddings `[tokens][dim]`.
    private func addAbsolutePositions(_ x: inout [Float], positions: [Int]) {
        let c = configuration
        switch c.positionEncoding {
        case .sinusoidal:
            SinusoidalEncoding.add(to: &x, heads: 1, positions: positions, dim: c.dim)
        case .learned:
            guard let table = weights.positionEmbedding else { return }
            for (t, p) in positions.enumerated() { for i in 0..<c.dim { x[t * c.dim + i] += table.pointer[p * c.dim + i] } }
        case .rope, .none: break
        }
    }

    /// RoPE on `[tokens][heads][headDim]` rows: each head vector at its token's table row (nothing
    /// for models without RoPE).
    private func rotate(_ data: UnsafeMutablePointer<Float>, heads: Int, tokens: Int, table: RoPETable) {
        let c = configuration
        guard c.positionEncoding == .rope else { return }
        table.cos.withUnsafeBufferPointer { cosTable in
            table.sin.withUnsafeBufferPointer { sinTable in
                RoPEKernel.rotate(data, tokens: tokens, heads: heads, headDim: c.headDim, rotaryDim: c.rope.rotaryDim,
                                  layout: c.rope.layout, cos: cosTable.baseAddress!, sin: sinTable.baseAddress!)
            }
        }
    }

    /// Causal grouped-query attention of the new queries over every cached position, heads over the cores.
    /// - Parameters: q `[tokens][heads·hd]`, keys/values `[capacity][kvDim]` (positions `0..<start+tokens`
    ///   filled), output `[tokens][heads·hd]`
    /// - Parameter capture: when given, `[heads][tokens][span]` receives the weights.
    private func attend(_ q: [Float], keys: UnsafePointer<Float>, values: UnsafePointer<Float>, start: Int, tokens: Int,
                        into output: inout [Float], capture: UnsafeMutablePointer<Float>? = nil) {
        let c = configuration
        let (hd, qDim, kvDim, span) = (c.headDim, c.heads * c.headDim, c.kvDim, start + tokens)
        let group = c.heads / c.kvHeads
        let scale = 1 / Float(hd).squareRoot()
        q.withUnsafeBufferPointer { qp in
            output.withUnsafeMutableBufferPointer { op in
                let (qa, ka, va, oa) = (Int(bitPattern: qp.baseAddress), Int(bitPattern: keys), Int(bitPattern: values),
                                        Int(bitPattern: op.baseAddress))
                let ca = Int(bitPattern: capture)
                Parallel.forEachRange(c.heads, costPerItem: tokens * span * hd, minimumWork: 1 << 14) { heads in
                    let q = UnsafePointer<Float>(bitPattern: qa)!, keys = UnsafePointer<Float>(bitPattern: ka)!
                    let values = UnsafePointer<Float>(bitPattern: va)!, out = UnsafeMutablePointer<Float>(bitPattern: oa)!
                    var scores = [Float](repeating: 0, count: tokens * span)   // [tokens][span] for one head
                    scores.withUnsafeMutableBufferPointer { sp in
                        let s = sp.baseAddress!
                        for h in heads {
                            let kv = h / group
                            if tokens == 1 {
                                // Decoding: dot products straight from the cache rows.
                                for j in 0..<span { s[j] = scale * MatrixMultiply.dot(q + h * hd, keys + j * kvDim + kv * hd, hd) }
                            } else {
                                MatrixMultiply.timesTransposed(q + h * hd, lda: qDim, keys + kv * hd, ldb: kvDim,
                                                               s, ldc: span, m: tokens, n: span, k: hd, alpha: scale)
                            }
                            for t in 0..<tokens {
                                Softmax.normalizeRow(s + t * span, count: span, visibleCount: start + t + 1)
                            }
                            if let captured = UnsafeMutablePointer<Float>(bitPattern: ca) {
                                (captured + h * tokens * span).update(from: s, count: tokens * span)
                            }
                            if tokens == 1 {
                                let o = out + h * hd
                                o.update(repeating: 0, count: hd)
                                for j in 0..<span {
                                    let weight = s[j], v = values + j * kvDim + kv * hd
                                    for i in 0..<hd { o[i] += weight * v[i] }
                                }
                            } else {
                                MatrixMultiply.times(s, lda: span, values + kv * hd, ldb: kvDim,
                                                     out + h * hd, ldc: qDim, m: tokens, n: hd, k: span)
                            }
                        }
                    }
                }
            }
        }
    }
}
