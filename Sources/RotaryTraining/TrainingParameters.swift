import RotaryModel
import RotaryNumerics

/// Every trainable tensor of a Llama model, by GGUF name, as owned Float arrays in GGUF layout
/// (a matrix is `[out][in]`, row-major). Gradients and optimizer moments use the same type.
public struct TrainingParameters: Sendable {
    public var configuration: ModelConfiguration
    /// In the model's tensor order.
    public private(set) var names: [String]
    public var tensors: [String: [Float]]
    /// ggml dims of each tensor (`[in, out]` for matrices, `[n]` for vectors).
    public private(set) var dims: [String: [Int]]

    /// The tensor names of a Llama model with these settings.
    public static func tensorNames(_ c: ModelConfiguration, tiedOutput: Bool) -> [String] {
        ModelTensor.all(c) { $0 == .output ? !tiedOutput : false }.map(\.ggufName)
    }

    /// The tensors by name, to give each its shape.
    static func roles(_ c: ModelConfiguration) -> [String: ModelTensor] {
        Dictionary(uniqueKeysWithValues: ModelTensor.all(c) { _ in true }.map { ($0.ggufName, $0) })
    }

    /// Copies every tensor of a loaded GGUF model.
    public init(file: GGUFFile, configuration: ModelConfiguration) throws(GGUFError) {
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
    public init(configuration c: ModelConfiguration, tiedOutput: Bool, seed: UInt64, std: Float = 0.02) {
        configuration = c
        names = Self.tensorNames(c, tiedOutput: tiedOutput)
        tensors = [:]
        dims = [:]
        var generator = SplitMix64(seed: seed)
        let residualScale = 1 / Float(2 * c.layers).squareRoot()
        let roles = Self.roles(c)
        for name in names {
            let shape = roles[name]!.ggufDims(c)
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

extension TrainingParameters: ModelWeightSource {
    /// The forward pass reads the parameters in place (a tied model's output head is its token embedding).
    public func withMatrix<R>(_ tensor: ModelTensor, _ body: (WeightMatrix?) -> R) -> R {
        let role = tensor == .output && isTied ? ModelTensor.tokenEmbedding : tensor
        guard let data = tensors[role.ggufName] else { return body(nil) }
        let (rows, columns) = role.shape(configuration)
        return data.withUnsafeBufferPointer { body(WeightMatrix($0.baseAddress!, rows: rows, columns: columns)) }
    }
}
