import RotaryModel

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
        return names
    }

    /// Copies every tensor of a loaded GGUF model.
    public init(file: GGUFFile, configuration: LlamaConfiguration) throws(GGUFError) {
        self.configuration = configuration
        let tied = file.tensor("output.weight") == nil
        names = Self.tensorNames(configuration, tiedOutput: tied)
        tensors = [:]
        dims = [:]
        for name in names {
            guard let info = file.tensor(name) else { throw GGUFError("tensor \(name) is missing") }
            tensors[name] = file.floats(info)
            dims[name] = info.dims
        }
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
