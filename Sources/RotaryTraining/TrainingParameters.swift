import RotaryModel
import RotaryNumerics

/// Every trainable tensor of a Llama model, by GGUF name, as owned Float arrays in GGUF layout
/// (a matrix is `[out][in]`, row-major). Gradients and optimizer moments use the same type.
public struct TrainingParameters: Sendable {
    public var configuration: LlamaConfiguration
    /// In the model's tensor order.
    public private(set) var names: [String]
    public var tensors: [String: [Float]]
    /// ggml dims of each tensor (`[in, out]` for matrices, `[n]` for vectors).
    public private(set) var dims: [String: [Int]]

    /// The tensor names of a Llama model with these settings.
    public static func tensorNames(_ c: LlamaConfiguration, tiedOutput: Bool) -> [String] {
        var names = ["token_embd.weight"]
        for l in 0..<c.layers {
            names += ["attn_norm", "attn_q", "attn_k", "attn_v", "attn_output", "ffn_norm", "ffn_gate", "ffn_up", "ffn_down"]
                .map { "blk.\(l).\($0).weight" }
        }
        names.append("output_norm.weight")
        if !tiedOutput { names.append("output.weight") }
        if c.positionEncoding == .learned { names.append("position_embd.weight") }
        return names
    }

    /// Copies every tensor of a loaded GGUF model.
    public init(file: GGUFFile, configuration: LlamaConfiguration) throws(GGUFError) {
        self.configuration = configuration
        let tied = file.tensor("output.weight") == nil   // position_embd.weight comes with a learned configuration
        names = Self.tensorNames(configuration, tiedOutput: tied)
        tensors = [:]
        dims = [:]
        for name in names {
            guard let info = file.tensor(name) else { throw GGUFError("tensor \(name) is missing") }
            tensors[name] = file.floats(info)
            dims[name] = info.dims
        }
    }

    /// A fresh model: matrices drawn from N(0, std²) (the output projections of each block scaled by
    /// 1/√(2·layers), as GPT-2 does), RMSNorm weights 1; reproducible from `seed`.
    public init(configuration c: LlamaConfiguration, tiedOutput: Bool, seed: UInt64, std: Float = 0.02) {
        configuration = c
        names = Self.tensorNames(c, tiedOutput: tiedOutput)
        tensors = [:]
        dims = [:]
        var generator = SplitMix64(seed: seed)
        let residualScale = 1 / Float(2 * c.layers).squareRoot()
        for name in names {
            let shape = Self.shape(name, c)
            dims[name] = shape
            let count = shape.reduce(1, *)
            if shape.count == 1 {
                tensors[name] = [Float](repeating: 1, count: count)
            } else {
                let scale = std * (name.hasSuffix("attn_output.weight") || name.hasSuffix("ffn_down.weight") ? residualScale : 1)
                tensors[name] = (0..<count).map { _ in Float(generator.nextGaussian()) * scale }
            }
        }
    }

    /// ggml dims of a tensor: `[in, out]` for matrices, `[n]` for norms.
    static func shape(_ name: String, _ c: LlamaConfiguration) -> [Int] {
        if name.hasSuffix("norm.weight") { return [c.dim] }
        if name == "token_embd.weight" || name == "output.weight" { return [c.dim, c.vocabularySize] }
        if name == "position_embd.weight" { return [c.dim, c.contextLength] }
        if name.hasSuffix("attn_q.weight") { return [c.dim, c.heads * c.headDim] }
        if name.hasSuffix("attn_k.weight") || name.hasSuffix("attn_v.weight") { return [c.dim, c.kvDim] }
        if name.hasSuffix("attn_output.weight") { return [c.heads * c.headDim, c.dim] }
        if name.hasSuffix("ffn_gate.weight") || name.hasSuffix("ffn_up.weight") { return [c.dim, c.feedForwardDim] }
        return [c.feedForwardDim, c.dim]   // ffn_down
    }

    /// Zeros shaped like `other` (for gradients and moments).
    public init(zerosLike other: TrainingParameters) {
        configuration = other.configuration
        names = other.names
        dims = other.dims
        tensors = other.tensors.mapValues { [Float](repeating: 0, count: $0.count) }
    }

    public var isTied: Bool { tensors["output.weight"] == nil }

    public var parameterCount: Int { tensors.values.reduce(0) { $0 + $1.count } }

    /// 2-D tensors take weight decay; the RMSNorm vectors do not.
    public func decays(_ name: String) -> Bool { (dims[name]?.count ?? 1) >= 2 }
}

extension TrainingParameters: LlamaWeightSource {
    /// The forward pass reads the parameters in place (a tied model's output head is its token embedding).
    public func withTensor<R>(_ tensor: LlamaTensor, _ body: (UnsafePointer<Float>) -> R) -> R {
        let name = tensor == .output && isTied ? LlamaTensor.tokenEmbedding.ggufName : tensor.ggufName
        return tensors[name]!.withUnsafeBufferPointer { body($0.baseAddress!) }
    }
}
