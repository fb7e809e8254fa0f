#if canImport(Glibc)
import Glibc
#endif
import RotaryNumerics

/// Where the forward pass reads its weights: a loaded file (inference) or training's parameters.
public protocol ModelWeightSource {
    /// Lends the tensor as stored, row-major (a matrix `[out][in]`); nil when the model has no such tensor.
    /// Vectors (norms, biases) are F32.
    func withMatrix<R>(_ tensor: ModelTensor, _ body: (WeightMatrix?) -> R) -> R
}

extension ModelWeights: ModelWeightSource {
    public func withMatrix<R>(_ tensor: ModelTensor, _ body: (WeightMatrix?) -> R) -> R { body(matrix(tensor)) }
}

extension ModelWeightSource {
    /// The floats of an F32 vector the model must have.
    func withFloats<R>(_ tensor: ModelTensor, _ body: (UnsafePointer<Float>) -> R) -> R {
        withMatrix(tensor) { body($0!.floats!) }
    }
}

/// What one block computed over the call's `T` token rows: the buffers each stage hands the next, and what
/// backpropagation keeps (`TransformerForward.run`'s `record` receives a copy per layer).
public struct BlockActivations: Sendable {
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

    init(_ c: ModelConfiguration, rows n: Int) {
        func zeros(_ count: Int) -> [Float] { [Float](repeating: 0, count: count) }
        input = zeros(n * c.dim); normed1 = zeros(n * c.dim); inverseRMS1 = zeros(n)
        query = zeros(n * c.queryDim); key = []; value = []; probabilities = []
        attention = zeros(n * c.queryDim); middle = zeros(n * c.dim); normed2 = zeros(n * c.dim)
        inverseRMS2 = zeros(n); gate = zeros(n * c.feedForwardDim); up = zeros(n * c.feedForwardDim)
        hidden = zeros(n * c.feedForwardDim)
    }
}

/// The end of a forward pass.
public struct ForwardResult: Sendable {
    /// `[logitRows][vocab]` for the call's last `logitRows` tokens.
    public var logits: [Float]
    /// `[logitRows][dim]`: the residual stream into the final norm, the norm's output, and its 1/RMS `[logitRows]`.
    public var final: [Float], normedFinal: [Float], inverseRMSFinal: [Float]
}

/// The forward pass of every architecture — embedding (scaled where the architecture says), absolute
/// positions if any, blocks of (RMSNorm, attention with RoPE and grouped-query heads over the KV cache, with
/// the architecture's biases, q/k norms and output norms, RMSNorm, gated feed-forward), final norm, output
/// head (soft-capped where set) — composed of RotaryNumerics' kernels. Inference and training both run this one.
public enum TransformerForward {
    /// Runs `tokens` at positions `cache.count…`, appending their keys and values to the cache.
    /// - Parameters:
    ///   - logitRows: how many of the last tokens get logits (1 to decode, all to score or train, 0 for a prompt chunk
    ///     whose logits nobody reads).
    ///   - record: called after each block with its activations (nil: nothing is copied).
    ///   - tables: where cos/sin tables of calls from position 0 are kept and found (nil: built every call).
    ///   - ropeSequenceLength: the length `dynamic`/`longrope` scale for (nil: this call's last position + 1); a
    ///     sequence run in several calls passes its whole length so that every call rotates alike.
    ///   - probabilitiesOf: the layers whose attention weights go into the recorded activations.
    public static func run(_ c: ModelConfiguration, weights: some ModelWeightSource, tokens: [Int], cache: inout KVCache,
                           logitRows: Int, tables: RoPETableCache? = nil, ropeSequenceLength: Int? = nil, record: ((Int, BlockActivations) -> Void)? = nil,
                           probabilitiesOf: (Int) -> Bool = { _ in false }) -> ForwardResult {
        let n = tokens.count
        precondition(n > 0, "no tokens")
        precondition(cache.count + n <= cache.capacity, "the cache holds \(cache.capacity) positions")
        precondition(tokens.allSatisfy { $0 >= 0 && $0 < c.vocabularySize }, "token id out of range")
        let architecture = c.architecture
        let start = cache.count, span = start + n
        let positions = Array(start..<span)
        let (hd, qDim, kvDim) = (c.headDim, c.queryDim, c.kvDim)
        var a = BlockActivations(c, rows: n)
        var x = embed(tokens, positions: positions, c, weights)         // [n][dim] residual stream
        var projected = [Float](repeating: 0, count: n * c.dim)         // [n][dim]
        let ropePositions = c.positionEncoding == .rope ? positions : []
        // Only whole prompts and windows are cached: decode steps' one-row tables are cheap and never repeat.
        let cached = tables.flatMap { start == 0 && n > 1 ? $0 : nil }
        let length = ropeSequenceLength
        let globalTable = c.ropeFrequencyFactors == nil && cached != nil
            ? cached!.table(for: c.rope, positions: ropePositions, sequenceLength: length)
            : c.rope.table(positions: ropePositions, sequenceLength: length, frequencyDivisors: c.ropeFrequencyFactors)
        let localTable = c.localRope.map { local in
            cached?.table(for: local, positions: ropePositions, sequenceLength: length)
                ?? local.table(positions: ropePositions, sequenceLength: length)
        }
        let layerStride = cache.capacity * kvDim
        for l in 0..<c.layers {
            if record != nil { a.input = x }
            let table: RoPETable, mask: AttentionMask
            switch c.layerAttention[l] {
            case .global: (table, mask) = (globalTable, .causalAfter(start: start))
            case .slidingWindow(let window): (table, mask) = (localTable ?? globalTable, .slidingWindowAfter(start: start, window: window))
            }
            norm(x, .attentionNorm(l), c, weights, into: &a.normed1, inverse: &a.inverseRMS1, rows: n)
            linear(a.normed1, .query(l), bias: .queryBias(l), rows: n, weights, exact: c.exactActivations, into: &a.query)
            let wantProbabilities = record != nil && probabilitiesOf(l)
            if wantProbabilities { a.probabilities = [Float](repeating: 0, count: c.heads * n * span) }
            cache.keys.withUnsafeMutableBufferPointer { keys in
                cache.values.withUnsafeMutableBufferPointer { values in
                    let layerKeys = keys.baseAddress! + l * layerStride, layerValues = values.baseAddress! + l * layerStride
                    let kSlot = layerKeys + start * kvDim, vSlot = layerValues + start * kvDim
                    a.normed1.withUnsafeBufferPointer { input in
                        linear(input.baseAddress!, .key(l), bias: .keyBias(l), rows: n, weights, exact: c.exactActivations, into: kSlot)
                        linear(input.baseAddress!, .value(l), bias: .valueBias(l), rows: n, weights, exact: c.exactActivations, into: vSlot)
                    }
                    a.query.withUnsafeMutableBufferPointer { query in
                        if architecture.queryKeyNorms {
                            headNorm(query.baseAddress!, .queryNorm(l), heads: c.heads, rows: n, c, weights)
                            headNorm(kSlot, .keyNorm(l), heads: c.kvHeads, rows: n, c, weights)
                        }
                        rotate(query.baseAddress!, heads: c.heads, tokens: n, c, table, layer: l)
                    }
                    rotate(kSlot, heads: c.kvHeads, tokens: n, c, table, layer: l)
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
                                                 mask: mask, scale: c.queryScale,
                                                 weights: wantProbabilities ? p.baseAddress : nil, scores: nil,
                                                 output: out.baseAddress!, outputRows: .tokenMajor(width: hd, rowStride: qDim))
                            }
                        }
                    }
                }
            }
            linear(a.attention, .attentionOutput(l), rows: n, weights, exact: c.exactActivations, into: &projected)
            if architecture.outputNorms { normInPlace(&projected, .attentionOutputNorm(l), c, weights, rows: n) }
            for i in 0..<(n * c.dim) { x[i] += projected[i] }
            if record != nil { a.middle = x }
            norm(x, .feedForwardNorm(l), c, weights, into: &a.normed2, inverse: &a.inverseRMS2, rows: n)
            linear(a.normed2, .gate(l), rows: n, weights, exact: c.exactActivations, into: &a.gate)
            linear(a.normed2, .up(l), rows: n, weights, exact: c.exactActivations, into: &a.up)
            a.gate.withUnsafeBufferPointer { g in a.up.withUnsafeBufferPointer { u in a.hidden.withUnsafeMutableBufferPointer { h in
                switch architecture.activation {
                case .silu: SwiGLU.apply(gate: g.baseAddress!, up: u.baseAddress!, count: h.count, into: h.baseAddress!)
                case .geluTanh: GeGLU.apply(gate: g.baseAddress!, up: u.baseAddress!, count: h.count, into: h.baseAddress!)
                }
            } } }
            linear(a.hidden, .down(l), rows: n, weights, exact: c.exactActivations, into: &projected)
            if architecture.outputNorms { normInPlace(&projected, .feedForwardOutputNorm(l), c, weights, rows: n) }
            for i in 0..<(n * c.dim) { x[i] += projected[i] }
            record?(l, a)
        }
        cache.count = span
        let rows = min(max(logitRows, 0), n)
        guard rows > 0 else { return ForwardResult(logits: [], final: [], normedFinal: [], inverseRMSFinal: []) }
        let final = Array(x[((n - rows) * c.dim)...])
        var normedFinal: [Float] = [], inverseFinal: [Float] = []
        let logits = head(final, rows: rows, c, weights, eachInput: false, normed: &normedFinal, inverse: &inverseFinal)
        return ForwardResult(logits: logits, final: final, normedFinal: normedFinal, inverseRMSFinal: inverseFinal)
    }

    /// The residual stream's start: each token's embedding row (scaled where the architecture says), plus its
    /// absolute position where the model encodes one. Returns `[tokens.count][dim]`; positions `[tokens.count]`.
    static func embed(_ tokens: [Int], positions: [Int], _ c: ModelConfiguration, _ weights: some ModelWeightSource) -> [Float] {
        let dim = c.dim
        var x = [Float](repeating: 0, count: tokens.count * dim)
        x.withUnsafeMutableBufferPointer { out in
            weights.withMatrix(.tokenEmbedding) { table in
                for (t, token) in tokens.enumerated() { table!.dequantizeRow(token, into: out.baseAddress! + t * dim) }
            }
        }
        if let scale = c.embeddingScale ?? (c.architecture.scalesEmbedding ? Float(dim).squareRoot() : nil) {
            for i in x.indices { x[i] *= scale }
        }
        switch c.positionEncoding {
        case .sinusoidal: SinusoidalEncoding.add(to: &x, heads: 1, positions: positions, dim: dim)
        case .learned:
            weights.withFloats(.positionEmbedding) { table in
                for (t, p) in positions.enumerated() { for i in 0..<dim { x[t * dim + i] += table[p * dim + i] } }   // row p: position p
            }
        case .rope, .none: break
        }
        return x
    }

    /// Final norm, output head and soft-cap of `rows` rows of the residual stream x `[rows][dim]`: logits
    /// `[rows][vocab]`, with the norm's output `[rows][dim]` and 1/RMS `[rows]` in `normed` and `inverse`.
    /// - Parameter eachInput: each row's product as alone (batched decoding).
    static func head(_ x: [Float], rows: Int, _ c: ModelConfiguration, _ weights: some ModelWeightSource, eachInput: Bool,
                     normed: inout [Float], inverse: inout [Float]) -> [Float] {
        normed = [Float](repeating: 0, count: rows * c.dim)
        inverse = [Float](repeating: 0, count: rows)
        norm(x, .outputNorm, c, weights, into: &normed, inverse: &inverse, rows: rows)
        var logits = [Float](repeating: 0, count: rows * c.vocabularySize)
        linear(normed, .output, rows: rows, weights, exact: c.exactActivations, eachInput: eachInput, into: &logits)
        if let cap = c.finalLogitSoftcap {
            for i in logits.indices { logits[i] = cap * tanhf(logits[i] / cap) }
        }
        return logits
    }

    /// RMSNorm per row. x `[rows][dim]`, output `[rows][dim]`, inverse `[rows]`.
    static func norm(_ x: [Float], _ tensor: ModelTensor, _ c: ModelConfiguration, _ weights: some ModelWeightSource,
                             into output: inout [Float], inverse: inout [Float], rows: Int) {
        x.withUnsafeBufferPointer { input in output.withUnsafeMutableBufferPointer { out in inverse.withUnsafeMutableBufferPointer { r in
            weights.withFloats(tensor) { w in
                RMSNorm.apply(input.baseAddress!, weight: w, rows: rows, dim: c.dim, epsilon: c.rmsEpsilon,
                              into: out.baseAddress!, inverseRMS: r.baseAddress!)
            }
        } } }
    }

    /// RMSNorm per row, in place. x `[rows][dim]`.
    static func normInPlace(_ x: inout [Float], _ tensor: ModelTensor, _ c: ModelConfiguration,
                                    _ weights: some ModelWeightSource, rows: Int) {
        x.withUnsafeMutableBufferPointer { data in
            weights.withFloats(tensor) { w in
                RMSNorm.apply(data.baseAddress!, weight: w, rows: rows, dim: c.dim, epsilon: c.rmsEpsilon, into: data.baseAddress!)
            }
        }
    }

    /// RMSNorm of every head, in place. data `[rows][heads][headDim]`.
    static func headNorm(_ data: UnsafeMutablePointer<Float>, _ tensor: ModelTensor, heads: Int, rows: Int,
                                 _ c: ModelConfiguration, _ weights: some ModelWeightSource) {
        weights.withFloats(tensor) { w in
            RMSNorm.apply(data, weight: w, rows: rows * heads, dim: c.headDim, epsilon: c.rmsEpsilon, into: data)
        }
    }

    /// y = x · Wᵀ (+ b when the model has the bias). x `[rows][in]`, W `[out][in]`, y `[rows][out]`.
    /// - Parameter eachInput: every row computed as it would be alone (`WeightMatrix.linearEachInput`), for batches
    ///   of independent sequences.
    static func linear(_ x: UnsafePointer<Float>, _ tensor: ModelTensor, bias: ModelTensor? = nil, rows: Int,
                       _ weights: some ModelWeightSource, exact: Bool, eachInput: Bool = false, into y: UnsafeMutablePointer<Float>) {
        let outputs = weights.withMatrix(tensor) { matrix in
            if eachInput { matrix!.linearEachInput(x, count: rows, y, exactActivations: exact) }
            else { matrix!.linear(x, count: rows, y, exactActivations: exact) }
            return matrix!.rows
        }
        guard let bias else { return }
        weights.withMatrix(bias) { vector in
            guard let b = vector?.floats else { return }
            for r in 0..<rows { for i in 0..<outputs { y[r * outputs + i] += b[i] } }
        }
    }

    static func linear(_ x: [Float], _ tensor: ModelTensor, bias: ModelTensor? = nil, rows: Int,
                       _ weights: some ModelWeightSource, exact: Bool, eachInput: Bool = false, into y: inout [Float]) {
        x.withUnsafeBufferPointer { input in y.withUnsafeMutableBufferPointer { out in
            linear(input.baseAddress!, tensor, bias: bias, rows: rows, weights, exact: exact, eachInput: eachInput, into: out.baseAddress!)
        } }
    }

    /// RoPE on `[tokens][heads][headDim]` rows at the table's rows (nothing for models without RoPE).
    public static func rotate(_ data: UnsafeMutablePointer<Float>, heads: Int, tokens: Int, _ c: ModelConfiguration,
                              _ table: RoPETable, layer: Int = 0) {
        guard c.positionEncoding == .rope else { return }
        let rope = c.rope(layer: layer)
        table.cos.withUnsafeBufferPointer { cosTable in
            table.sin.withUnsafeBufferPointer { sinTable in
                RoPEKernel.rotate(data, tokens: tokens, heads: heads, headDim: c.headDim, rotaryDim: rope.rotaryDim,
                                  layout: rope.layout, cos: cosTable.baseAddress!, sin: sinTable.baseAddress!)
            }
        }
    }
}
