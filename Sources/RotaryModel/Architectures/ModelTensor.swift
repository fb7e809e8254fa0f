/// One tensor of a model, by role; its GGUF name and shape are written here and nowhere else.
public enum ModelTensor: Sendable, Hashable {
    case tokenEmbedding, positionEmbedding, outputNorm
    /// The output head (the token embedding when the file ties them).
    case output
    case attentionNorm(Int), query(Int), key(Int), value(Int), attentionOutput(Int)
    case queryBias(Int), keyBias(Int), valueBias(Int)
    /// Per-head RMSNorm weights of queries and keys (`[headDim]`).
    case queryNorm(Int), keyNorm(Int)
    /// Norms applied to the attention / feed-forward output before the residual add.
    case attentionOutputNorm(Int), feedForwardOutputNorm(Int)
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
        case .queryBias(let l): return "blk.\(l).attn_q.bias"
        case .keyBias(let l): return "blk.\(l).attn_k.bias"
        case .valueBias(let l): return "blk.\(l).attn_v.bias"
        case .queryNorm(let l): return "blk.\(l).attn_q_norm.weight"
        case .keyNorm(let l): return "blk.\(l).attn_k_norm.weight"
        case .attentionOutput(let l): return "blk.\(l).attn_output.weight"
        case .attentionOutputNorm(let l): return "blk.\(l).post_attention_norm.weight"
        case .feedForwardNorm(let l): return "blk.\(l).ffn_norm.weight"
        case .gate(let l): return "blk.\(l).ffn_gate.weight"
        case .up(let l): return "blk.\(l).ffn_up.weight"
        case .down(let l): return "blk.\(l).ffn_down.weight"
        case .feedForwardOutputNorm(let l): return "blk.\(l).post_ffw_norm.weight"
        }
    }

    /// `(rows, columns)` of the tensor as a row-major matrix (`rows` 1 for a vector); GGUF dims are `[columns, rows]`.
    public func shape(_ c: ModelConfiguration) -> (rows: Int, columns: Int) {
        switch self {
        case .tokenEmbedding, .output: return (c.vocabularySize, c.dim)
        case .positionEmbedding: return (c.contextLength, c.dim)
        case .outputNorm, .attentionNorm, .feedForwardNorm, .attentionOutputNorm, .feedForwardOutputNorm: return (1, c.dim)
        case .query: return (c.queryDim, c.dim)
        case .key, .value: return (c.kvDim, c.dim)
        case .queryBias: return (1, c.queryDim)
        case .keyBias, .valueBias: return (1, c.kvDim)
        case .queryNorm, .keyNorm: return (1, c.headDim)
        case .attentionOutput: return (c.dim, c.queryDim)
        case .gate, .up: return (c.feedForwardDim, c.dim)
        case .down: return (c.dim, c.feedForwardDim)
        }
    }

    /// GGUF dims (`[columns]` for a vector, `[columns, rows]` for a matrix).
    public func ggufDims(_ c: ModelConfiguration) -> [Int] {
        let (rows, columns) = shape(c)
        return rows == 1 && !isMatrix ? [columns] : [columns, rows]
    }

    /// Projections and tables (quantizable, weight-decayed in training), as opposed to norm and bias vectors.
    public var isMatrix: Bool {
        switch self {
        case .tokenEmbedding, .positionEmbedding, .output, .query, .key, .value, .attentionOutput, .gate, .up, .down: return true
        default: return false
        }
    }

    /// Every tensor a model with this configuration has, in file order; `present` says whether an optional one
    /// (a bias, a tied output) is in the file.
    public static func all(_ c: ModelConfiguration, present: (ModelTensor) -> Bool) -> [ModelTensor] {
        let a = c.architecture
        var tensors: [ModelTensor] = [.tokenEmbedding]
        for l in 0..<c.layers {
            tensors.append(.attentionNorm(l))
            tensors += [.query(l), .key(l), .value(l)]
            tensors += [ModelTensor.queryBias(l), .keyBias(l), .valueBias(l)].filter { a.attentionBiases || present($0) }
            if a.queryKeyNorms { tensors += [.queryNorm(l), .keyNorm(l)] }
            tensors.append(.attentionOutput(l))
            if a.outputNorms { tensors.append(.attentionOutputNorm(l)) }
            tensors += [.feedForwardNorm(l), .gate(l), .up(l), .down(l)]
            if a.outputNorms { tensors.append(.feedForwardOutputNorm(l)) }
        }
        tensors.append(.outputNorm)
        if present(.output) { tensors.append(.output) }
        if c.positionEncoding == .learned { tensors.append(.positionEmbedding) }
        return tensors
    }
}
