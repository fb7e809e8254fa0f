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
        x.withUnsafeMutableBufferPointer { Embedding.gather(weights.tokenEmbedding.pointer, tokens: tokens, dim: c.dim, into: $0.baseAddress!) }
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
                    q.withUnsafeBufferPointer { qp in
                        attention.withUnsafeMutableBufferPointer { out in
                            attend(qp.baseAddress!, keys: layerKeys, values: layerValues, start: start, tokens: n, into: out.baseAddress!,
                                   capture: capture?.layer == l ? capture?.weights : nil)
                        }
                    }
                }
            }
            linear(attention, layer.attentionOutput, into: &projected, rows: n)
            for i in 0..<(n * c.dim) { x[i] += projected[i] }
            rmsNorm(x, layer.feedForwardNorm, into: &normed, rows: n)
            linear(normed, layer.gate, into: &gate, rows: n)
            linear(normed, layer.up, into: &up, rows: n)
            gate.withUnsafeMutableBufferPointer { g in
                up.withUnsafeBufferPointer { SwiGLU.apply(gate: g.baseAddress!, up: $0.baseAddress!, count: g.count, into: g.baseAddress!) }
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

    /// RMSNorm of each row. x `[rows][dim]`, output `[rows][dim]`.
    private func rmsNorm(_ x: [Float], _ weight: WeightMatrix, into output: inout [Float], rows: Int) {
        x.withUnsafeBufferPointer { input in
            output.withUnsafeMutableBufferPointer { out in
                RMSNorm.apply(input.baseAddress!, weight: weight.pointer, rows: rows, dim: configuration.dim,
                              epsilon: configuration.rmsEpsilon, into: out.baseAddress!)
            }
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

    /// Causal grouped-query attention of the new queries over every cached position (the shared kernel).
    /// - Parameters: q `[tokens][heads·hd]`, keys/values `[capacity][kvDim]` (positions `0..<start+tokens`
    ///   filled), output `[tokens][heads·hd]`
    /// - Parameter capture: when given, `[heads][tokens][start+tokens]` receives the weights.
    private func attend(_ q: UnsafePointer<Float>, keys: UnsafePointer<Float>, values: UnsafePointer<Float>, start: Int, tokens: Int,
                        into output: UnsafeMutablePointer<Float>, capture: UnsafeMutablePointer<Float>? = nil) {
        let c = configuration
        let (hd, qDim, kvDim) = (c.headDim, c.heads * c.headDim, c.kvDim)
        let shape = AttentionShape(queryHeads: c.heads, keyHeads: c.kvHeads, queryLength: tokens, keyLength: start + tokens,
                                   headDim: hd, valueDim: hd)
        Attention.kernel(queries: q, queryRows: .tokenMajor(width: hd, rowStride: qDim),
                         keys: keys, keyRows: .tokenMajor(width: hd, rowStride: kvDim),
                         values: values, valueRows: .tokenMajor(width: hd, rowStride: kvDim), shape: shape,
                         mask: .causalAfter(start: start), scale: nil, weights: capture, scores: nil,
                         output: output, outputRows: .tokenMajor(width: hd, rowStride: qDim))
    }
}
