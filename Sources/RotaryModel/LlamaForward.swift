import RotaryNumerics

/// One tensor of a Llama model, by role.
public enum LlamaTensor: Sendable, Hashable {
    case tokenEmbedding, positionEmbedding, outputNorm
    /// The output head (the token embedding when the file ties them).
    case output
    case attentionNorm(Int), query(Int), key(Int), value(Int), attentionOutput(Int)
    case feedForwardNorm(Int), gate(Int), up(Int), down(Int)

    /// The GGUF tensor name (`output.weight` even where a tied source answers with `token_embd.weight`).
    public var ggufName: String {
        switch self {
        case .tokenEmbedding: return "token_embd.weight"
        case .positionEmbedding: return "position_embd.weight"
        case .outputNorm: return "output_norm.weight"
        case .output: return "output.weight"
        case .attentionNorm(let l): return "blk.\(l).attn_norm.weight"
        case .query(let l): return "blk.\(l).attn_q.weight"
        case .key(let l): return "blk.\(l).attn_k.weight"
        case .value(let l): return "blk.\(l).attn_v.weight"
        case .attentionOutput(let l): return "blk.\(l).attn_output.weight"
        case .feedForwardNorm(let l): return "blk.\(l).ffn_norm.weight"
        case .gate(let l): return "blk.\(l).ffn_gate.weight"
        case .up(let l): return "blk.\(l).ffn_up.weight"
        case .down(let l): return "blk.\(l).ffn_down.weight"
        }
    }
}

/// Where the forward pass reads its weights: a loaded file (inference) or training's parameters.
public protocol LlamaWeightSource {
    /// Lends the tensor's floats, row-major as GGUF stores them (a matrix `[out][in]`).
    func withTensor<R>(_ tensor: LlamaTensor, _ body: (UnsafePointer<Float>) -> R) -> R
}

extension LlamaWeights: LlamaWeightSource {
    public func withTensor<R>(_ tensor: LlamaTensor, _ body: (UnsafePointer<Float>) -> R) -> R {
        switch tensor {
        case .tokenEmbedding: return body(tokenEmbedding.pointer)
        case .positionEmbedding: return body(positionEmbedding!.pointer)
        case .outputNorm: return body(outputNorm.pointer)
        case .output: return body(output.pointer)
        case .attentionNorm(let l): return body(layers[l].attentionNorm.pointer)
        case .query(let l): return body(layers[l].query.pointer)
        case .key(let l): return body(layers[l].key.pointer)
        case .value(let l): return body(layers[l].value.pointer)
        case .attentionOutput(let l): return body(layers[l].attentionOutput.pointer)
        case .feedForwardNorm(let l): return body(layers[l].feedForwardNorm.pointer)
        case .gate(let l): return body(layers[l].gate.pointer)
        case .up(let l): return body(layers[l].up.pointer)
        case .down(let l): return body(layers[l].down.pointer)
        }
    }
}

/// What one block computed over the call's `T` token rows: the buffers each stage hands the next, and what
/// backpropagation keeps (`LlamaForward.run`'s `record` receives a copy per layer).
public struct LlamaBlockActivations: Sendable {
    public var input: [Float]          // [T][dim], the residual stream entering the block
    public var normed1: [Float]        // [T][dim]
    public var inverseRMS1: [Float]    // [T]
    public var query: [Float]          // [T][heads·hd], after RoPE
    public var key: [Float]            // [T][kvDim], after RoPE (copied from the cache when recorded)
    public var value: [Float]          // [T][kvDim]
    public var probabilities: [Float]  // [heads][T][span] when asked for, else empty
    public var attention: [Float]      // [T][heads·hd]
    public var middle: [Float]         // [T][dim], after the attention residual
    public var normed2: [Float]        // [T][dim]
    public var inverseRMS2: [Float]    // [T]
    public var gate: [Float]           // [T][ffn], before SiLU
    public var up: [Float]             // [T][ffn]
    public var hidden: [Float]         // [T][ffn], SiLU(gate) · up

    init(_ c: LlamaConfiguration, rows n: Int) {
        func zeros(_ count: Int) -> [Float] { [Float](repeating: 0, count: count) }
        input = zeros(n * c.dim); normed1 = zeros(n * c.dim); inverseRMS1 = zeros(n)
        query = zeros(n * c.heads * c.headDim); key = []; value = []; probabilities = []
        attention = zeros(n * c.heads * c.headDim); middle = zeros(n * c.dim); normed2 = zeros(n * c.dim)
        inverseRMS2 = zeros(n); gate = zeros(n * c.feedForwardDim); up = zeros(n * c.feedForwardDim)
        hidden = zeros(n * c.feedForwardDim)
    }
}

/// The end of a forward pass.
public struct LlamaForwardResult: Sendable {
    /// `[logitRows][vocab]` for the call's last `logitRows` tokens.
    public var logits: [Float]
    /// `[logitRows][dim]`: the residual stream into the final norm, the norm's output, and its 1/RMS `[logitRows]`.
    public var final: [Float], normedFinal: [Float], inverseRMSFinal: [Float]
}

/// The Llama forward pass — embedding, absolute positions if any, blocks of (RMSNorm, attention with
/// RoPE and grouped-query heads over the KV cache, RMSNorm, SwiGLU), final norm, output head — composed
/// of RotaryNumerics' kernels. Inference and training both run this one.
public enum LlamaForward {
    /// Runs `tokens` at positions `cache.count…`, appending their keys and values to the cache.
    /// - Parameters:
    ///   - logitRows: how many of the last tokens get logits (1 to decode, all to score or train).
    ///   - record: called after each block with its activations (nil: nothing is copied).
    ///   - probabilitiesOf: the layers whose attention weights go into the recorded activations.
    public static func run(_ c: LlamaConfiguration, weights: some LlamaWeightSource, tokens: [Int], cache: inout KVCache,
                           logitRows: Int, record: ((Int, LlamaBlockActivations) -> Void)? = nil,
                           probabilitiesOf: (Int) -> Bool = { _ in false }) -> LlamaForwardResult {
        let n = tokens.count
        precondition(n > 0, "no tokens")
        precondition(cache.count + n <= cache.capacity, "the cache holds \(cache.capacity) positions")
        precondition(tokens.allSatisfy { $0 >= 0 && $0 < c.vocabularySize }, "token id out of range")
        let start = cache.count, span = start + n
        let positions = Array(start..<span)
        let (hd, qDim, kvDim) = (c.headDim, c.heads * c.headDim, c.kvDim)
        var a = LlamaBlockActivations(c, rows: n)
        var x = [Float](repeating: 0, count: n * c.dim)                 // [n][dim] residual stream
        var projected = [Float](repeating: 0, count: n * c.dim)         // [n][dim]
        x.withUnsafeMutableBufferPointer { out in
            weights.withTensor(.tokenEmbedding) { Embedding.gather($0, tokens: tokens, dim: c.dim, into: out.baseAddress!) }
        }
        switch c.positionEncoding {
        case .sinusoidal: SinusoidalEncoding.add(to: &x, heads: 1, positions: positions, dim: c.dim)
        case .learned:
            weights.withTensor(.positionEmbedding) { table in
                for i in 0..<(n * c.dim) { x[i] += table[start * c.dim + i] }   // row p of the table is position p
            }
        case .rope, .none: break
        }
        let table = c.rope.table(positions: c.positionEncoding == .rope ? positions : [])
        let layerStride = cache.capacity * kvDim
        for l in 0..<c.layers {
            if record != nil { a.input = x }
            norm(x, .attentionNorm(l), c, weights, into: &a.normed1, inverse: &a.inverseRMS1, rows: n)
            linear(a.normed1, .query(l), outputs: qDim, inputs: c.dim, weights, into: &a.query, rows: n)
            let wantProbabilities = record != nil && probabilitiesOf(l)
            if wantProbabilities { a.probabilities = [Float](repeating: 0, count: c.heads * n * span) }
            cache.keys.withUnsafeMutableBufferPointer { keys in
                cache.values.withUnsafeMutableBufferPointer { values in
                    let layerKeys = keys.baseAddress! + l * layerStride, layerValues = values.baseAddress! + l * layerStride
                    let kSlot = layerKeys + start * kvDim, vSlot = layerValues + start * kvDim
                    a.normed1.withUnsafeBufferPointer { input in
                        weights.withTensor(.key(l)) { MatrixMultiply.linear(input.baseAddress!, count: n, $0, outputs: kvDim, inputs: c.dim, kSlot) }
                        weights.withTensor(.value(l)) { MatrixMultiply.linear(input.baseAddress!, count: n, $0, outputs: kvDim, inputs: c.dim, vSlot) }
                    }
                    a.query.withUnsafeMutableBufferPointer { rotate($0.baseAddress!, heads: c.heads, tokens: n, c, table) }
                    rotate(kSlot, heads: c.kvHeads, tokens: n, c, table)
                    if record != nil {
                        a.key = Array(UnsafeBufferPointer(start: kSlot, count: n * kvDim))
                        a.value = Array(UnsafeBufferPointer(start: vSlot, count: n * kvDim))
                    }
                    let shape = AttentionShape(queryHeads: c.heads, keyHeads: c.kvHeads, queryLength: n, keyLength: span,
                                               headDim: hd, valueDim: hd)
                    a.query.withUnsafeBufferPointer { q in
                        a.attention.withUnsafeMutableBufferPointer { out in
                            a.probabilities.withUnsafeMutableBufferPointer { p in
                                Attention.kernel(queries: q.baseAddress!, queryRows: .tokenMajor(width: hd, rowStride: qDim),
                                                 keys: layerKeys, keyRows: .tokenMajor(width: hd, rowStride: kvDim),
                                                 values: layerValues, valueRows: .tokenMajor(width: hd, rowStride: kvDim), shape: shape,
                                                 mask: .causalAfter(start: start), scale: nil,
                                                 weights: wantProbabilities ? p.baseAddress : nil, scores: nil,
                                                 output: out.baseAddress!, outputRows: .tokenMajor(width: hd, rowStride: qDim))
                            }
                        }
                    }
                }
            }
            linear(a.attention, .attentionOutput(l), outputs: c.dim, inputs: qDim, weights, into: &projected, rows: n)
            for i in 0..<(n * c.dim) { x[i] += projected[i] }
            if record != nil { a.middle = x }
            norm(x, .feedForwardNorm(l), c, weights, into: &a.normed2, inverse: &a.inverseRMS2, rows: n)
            linear(a.normed2, .gate(l), outputs: c.feedForwardDim, inputs: c.dim, weights, into: &a.gate, rows: n)
            linear(a.normed2, .up(l), outputs: c.feedForwardDim, inputs: c.dim, weights, into: &a.up, rows: n)
            a.gate.withUnsafeBufferPointer { g in a.up.withUnsafeBufferPointer { u in a.hidden.withUnsafeMutableBufferPointer { h in
                SwiGLU.apply(gate: g.baseAddress!, up: u.baseAddress!, count: h.count, into: h.baseAddress!)
            } } }
            linear(a.hidden, .down(l), outputs: c.dim, inputs: c.feedForwardDim, weights, into: &projected, rows: n)
            for i in 0..<(n * c.dim) { x[i] += projected[i] }
            record?(l, a)
        }
        cache.count = span
        let rows = min(max(logitRows, 1), n)
        let final = Array(x[((n - rows) * c.dim)...])
        var normedFinal = [Float](repeating: 0, count: rows * c.dim), inverseFinal = [Float](repeating: 0, count: rows)
        norm(final, .outputNorm, c, weights, into: &normedFinal, inverse: &inverseFinal, rows: rows)
        var logits = [Float](repeating: 0, count: rows * c.vocabularySize)
        linear(normedFinal, .output, outputs: c.vocabularySize, inputs: c.dim, weights, into: &logits, rows: rows)
        return LlamaForwardResult(logits: logits, final: final, normedFinal: normedFinal, inverseRMSFinal: inverseFinal)
    }

    /// RMSNorm per row. x `[rows][dim]`, output `[rows][dim]`, inverse `[rows]`.
    private static func norm(_ x: [Float], _ tensor: LlamaTensor, _ c: LlamaConfiguration, _ weights: some LlamaWeightSource,
                             into output: inout [Float], inverse: inout [Float], rows: Int) {
        x.withUnsafeBufferPointer { input in output.withUnsafeMutableBufferPointer { out in inverse.withUnsafeMutableBufferPointer { r in
            weights.withTensor(tensor) { w in
                RMSNorm.apply(input.baseAddress!, weight: w, rows: rows, dim: c.dim, epsilon: c.rmsEpsilon,
                              into: out.baseAddress!, inverseRMS: r.baseAddress!)
            }
        } } }
    }

    /// y = x · Wᵀ. x `[rows][inputs]`, W `[outputs][inputs]`, y `[rows][outputs]`.
    private static func linear(_ x: [Float], _ tensor: LlamaTensor, outputs: Int, inputs: Int, _ weights: some LlamaWeightSource,
                               into y: inout [Float], rows: Int) {
        x.withUnsafeBufferPointer { input in y.withUnsafeMutableBufferPointer { out in
            weights.withTensor(tensor) { MatrixMultiply.linear(input.baseAddress!, count: rows, $0, outputs: outputs, inputs: inputs, out.baseAddress!) }
        } }
    }

    /// RoPE on `[tokens][heads][headDim]` rows at the table's rows (nothing for models without RoPE).
    public static func rotate(_ data: UnsafeMutablePointer<Float>, heads: Int, tokens: Int, _ c: LlamaConfiguration, _ table: RoPETable) {
        guard c.positionEncoding == .rope else { return }
        table.cos.withUnsafeBufferPointer { cosTable in
            table.sin.withUnsafeBufferPointer { sinTable in
                RoPEKernel.rotate(data, tokens: tokens, heads: heads, headDim: c.headDim, rotaryDim: c.rope.rotaryDim,
                                  layout: c.rope.layout, cos: cosTable.baseAddress!, sin: sinTable.baseAddress!)
            }
        }
    }
}
