/// A row-major matrix view `[rows][columns]` over storage the model keeps alive.
public struct WeightMatrix: @unchecked Sendable {   // read-only after load
    public let pointer: UnsafePointer<Float>
    public let rows: Int
    public let columns: Int
}

/// One transformer block's weights.
public struct LlamaLayerWeights: Sendable {
    /// `[dim]`
    public let attentionNorm: WeightMatrix
    /// `[heads·headDim][dim]`, `[kvDim][dim]`, `[kvDim][dim]`, `[dim][heads·headDim]`
    public let query, key, value, attentionOutput: WeightMatrix
    /// `[dim]`
    public let feedForwardNorm: WeightMatrix
    /// `[ffn][dim]`, `[ffn][dim]`, `[dim][ffn]`
    public let gate, up, down: WeightMatrix
}

/// All weights of a Llama model, pointing into the memory-mapped file (F32) or into dequantized copies.
public final class LlamaWeights: @unchecked Sendable {   // immutable after init
    public let tokenEmbedding: WeightMatrix   // [vocab][dim]
    public let layers: [LlamaLayerWeights]
    public let outputNorm: WeightMatrix        // [dim]
    public let output: WeightMatrix            // [vocab][dim], tied to tokenEmbedding when absent
    /// `[context][dim]`, only for learned absolute positions.
    public let positionEmbedding: WeightMatrix?
    private let file: GGUFFile
    /// Dequantized copies of non-F32 tensors, freed with the weights.
    private let owned: [UnsafeMutableBufferPointer<Float>]

    init(file: GGUFFile, configuration c: LlamaConfiguration) throws(GGUFError) {
        self.file = file
        var owned: [UnsafeMutableBufferPointer<Float>] = []
        func matrix(_ name: String, rows: Int, columns: Int) throws(GGUFError) -> WeightMatrix {
            guard let info = file.tensor(name) else { throw GGUFError("tensor \(name) is missing") }
            let expected = rows == 1 ? [columns] : [columns, rows]
            guard info.dims == expected else {
                throw GGUFError("tensor \(name) has dims \(info.dims), expected \(expected)")
            }
            if let pointer = file.f32Pointer(info) { return WeightMatrix(pointer: pointer, rows: rows, columns: columns) }
            let copy = UnsafeMutableBufferPointer<Float>.allocate(capacity: info.elementCount)
            _ = copy.initialize(from: file.floats(info))
            owned.append(copy)
            return WeightMatrix(pointer: UnsafePointer(copy.baseAddress!), rows: rows, columns: columns)
        }
        let (dim, hd) = (c.dim, c.headDim)
        tokenEmbedding = try matrix("token_embd.weight", rows: c.vocabularySize, columns: dim)
        var layers: [LlamaLayerWeights] = []
        for l in 0..<c.layers {
            let p = "blk.\(l)."
            layers.append(LlamaLayerWeights(
                attentionNorm: try matrix(p + "attn_norm.weight", rows: 1, columns: dim),
                query: try matrix(p + "attn_q.weight", rows: c.heads * hd, columns: dim),
                key: try matrix(p + "attn_k.weight", rows: c.kvDim, columns: dim),
                value: try matrix(p + "attn_v.weight", rows: c.kvDim, columns: dim),
                attentionOutput: try matrix(p + "attn_output.weight", rows: dim, columns: c.heads * hd),
                feedForwardNorm: try matrix(p + "ffn_norm.weight", rows: 1, columns: dim),
                gate: try matrix(p + "ffn_gate.weight", rows: c.feedForwardDim, columns: dim),
                up: try matrix(p + "ffn_up.weight", rows: c.feedForwardDim, columns: dim),
                down: try matrix(p + "ffn_down.weight", rows: dim, columns: c.feedForwardDim)))
        }
        self.layers = layers
        outputNorm = try matrix("output_norm.weight", rows: 1, columns: dim)
        output = file.tensor("output.weight") == nil ? tokenEmbedding : try matrix("output.weight", rows: c.vocabularySize, columns: dim)
        positionEmbedding = c.positionEncoding == .learned
            ? try matrix("position_embd.weight", rows: c.contextLength, columns: dim) : nil
        self.owned = owned
    }

    deinit { owned.forEach { $0.deallocate() } }

    /// Parameters counted once (a tied output matrix is not counted twice).
    public var parameterCount: Int {
        var total = tokenEmbedding.rows * tokenEmbedding.columns + outputNorm.columns
        if output.pointer != tokenEmbedding.pointer { total += output.rows * output.columns }
        if let positionEmbedding { total += positionEmbedding.rows * positionEmbedding.columns }
        for layer in layers {
            for m in [layer.attentionNorm, layer.query, layer.key, layer.value, layer.attentionOutput, layer.feedForwardNorm,
                      layer.gate, layer.up, layer.down] { total += m.rows * m.columns }
        }
        return total
    }
}
