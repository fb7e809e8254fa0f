import RotaryNumerics

/// The hyper-parameters of a decoder-only transformer, read from GGUF metadata (`<arch>.*`) and checked:
/// a missing key or an impossible value is an error that names the key. The architecture says which
/// optional parts the blocks have; the fields here say how big they are.
public struct ModelConfiguration: Sendable, Equatable {
    public var architecture: ArchitectureDescription
    public var dim: Int
    public var layers: Int
    public var heads: Int
    public var kvHeads: Int
    /// Query/key/value width per head (`attention.key_length`; dim / heads when absent).
    public var headDim: Int
    public var feedForwardDim: Int
    public var contextLength: Int
    public var vocabularySize: Int
    public var rmsEpsilon: Float
    /// RoPE of the global layers (all layers of most architectures).
    public var rope: RoPEConfiguration
    /// RoPE of the sliding-window layers, where the architecture gives them their own base.
    public var localRope: RoPEConfiguration?
    /// `[layers]`
    public var layerAttention: [LayerAttention]
    /// nil means 1/√headDim.
    public var queryScale: Float?
    /// Logits become cap · tanh(logits / cap) when set.
    public var finalLogitSoftcap: Float?
    /// Llama 3's `rope_freqs.weight`: θ_i is divided by factor i. `[rotaryDim / 2]`
    public var ropeFrequencyFactors: [Float]?
    /// RoPE for `llama` files; set otherwise by `rotary.position_encoding`.
    public var positionEncoding: PositionEncodingKind = .rope
    /// Token embeddings are multiplied by this (`rotary.embedding_scale`: a sinusoidal model trained as Vaswani
    /// et al. do, × √dim). Gemma's √dim comes from its architecture instead.
    public var embeddingScale: Float?
    /// Not from the file: keep activations in float for every product (slower decode), rather than rounding them
    /// to 8 bits where the quantized kernels do (see `WeightMatrix.linear(_:count:_:exactActivations:)`).
    public var exactActivations = false

    public var queryDim: Int { heads * headDim }
    public var kvDim: Int { kvHeads * headDim }

    public init(dim: Int, layers: Int, heads: Int, kvHeads: Int, feedForwardDim: Int, contextLength: Int,
                vocabularySize: Int, rmsEpsilon: Float, rope: RoPEConfiguration, positionEncoding: PositionEncodingKind = .rope,
                architecture: ArchitectureDescription = .llama, headDim: Int? = nil) {
        self.architecture = architecture
        self.dim = dim
        self.layers = layers
        self.heads = heads
        self.kvHeads = kvHeads
        self.headDim = headDim ?? dim / heads
        self.feedForwardDim = feedForwardDim
        self.contextLength = contextLength
        self.vocabularySize = vocabularySize
        self.rmsEpsilon = rmsEpsilon
        self.rope = rope
        self.layerAttention = Array(repeating: .global, count: layers)
        self.positionEncoding = positionEncoding
    }

    public init(gguf: GGUFFile, vocabularySize: Int) throws(GGUFError) {
        let name = gguf.value("general.architecture")?.string ?? "llama"
        architecture = try ArchitectureDescription.named(name)
        let m = MetadataReader(file: gguf, prefix: name)
        dim = try m.int("embedding_length", 1...65_536)
        layers = try m.int("block_count", 1...1024)
        heads = try m.int("attention.head_count", 1...1024)
        kvHeads = try m.int("attention.head_count_kv", 1...1024, default: heads)
        feedForwardDim = try m.int("feed_forward_length", 1...1 << 20)
        contextLength = try m.int("context_length", 1...1 << 20)
        self.vocabularySize = vocabularySize
        guard heads % kvHeads == 0 else { throw GGUFError("\(name).attention.head_count must be a multiple of head_count_kv") }
        if !m.has("attention.key_length") && dim % heads != 0 {
            throw GGUFError("\(name).embedding_length (\(dim)) is not a multiple of the head count (\(heads)) and \(name).attention.key_length is missing")
        }
        headDim = try m.int("attention.key_length", 2...4096, default: dim / heads)
        let valueLength = try m.int("attention.value_length", 2...4096, default: headDim)
        guard valueLength == headDim else {
            throw GGUFError("\(name).attention.value_length (\(valueLength)) differs from key_length (\(headDim)); not supported")
        }
        let epsilon = try m.number("attention.layer_norm_rms_epsilon", default: 1e-5)
        guard epsilon > 0, epsilon < 1 else { throw GGUFError("\(name).attention.layer_norm_rms_epsilon must be in (0, 1)") }
        rmsEpsilon = Float(epsilon)
        let ropeDim = try m.int("rope.dimension_count", 2...headDim, default: headDim)
        guard ropeDim % 2 == 0 else { throw GGUFError("\(name).rope.dimension_count must be even") }
        let theta = try m.number("rope.freq_base", default: 10_000)
        let scaling: RoPEScaling
        let scalingType = gguf.value("\(name).rope.scaling.type")?.string ?? "none"
        switch scalingType {
        case "none": scaling = .none
        case "linear": scaling = .linear(factor: try m.number("rope.scaling.factor"))
        case "yarn":
            let original = try m.int("rope.scaling.original_context_length", 1...1 << 20, default: contextLength)
            scaling = .yarn(YaRNParameters(factor: try m.number("rope.scaling.factor"), originalMaxPositionEmbeddings: original))
        default: throw GGUFError("\(name).rope.scaling.type '\(scalingType)' is not supported (none, linear, yarn)")
        }
        if let raw = gguf.value(PositionEncodingKind.metadataKey) {
            guard let kind = raw.string.flatMap(PositionEncodingKind.init(rawValue:)) else {
                throw GGUFError("\(PositionEncodingKind.metadataKey) must be one of \(PositionEncodingKind.allCases.map(\.rawValue))")
            }
            positionEncoding = kind
        }
        if let raw = gguf.value(Self.embeddingScaleKey) {
            guard let scale = raw.double, scale.isFinite, scale > 0 else { throw GGUFError("\(Self.embeddingScaleKey) must be a positive number") }
            embeddingScale = Float(scale)
        }
        do {
            rope = try RoPEConfiguration(headDim: headDim, theta: theta, layout: architecture.ropeLayout, scaling: scaling,
                                         rotaryDim: ropeDim, maxPositionEmbeddings: contextLength)
        } catch {
            throw GGUFError("RoPE settings: \(error.description)")
        }
        layerAttention = Array(repeating: .global, count: layers)
        if architecture.ropeFrequencyFactors, let info = gguf.tensor("rope_freqs.weight") {
            guard info.dims == [ropeDim / 2] else {
                throw GGUFError("tensor rope_freqs.weight has dims \(info.dims), expected [\(ropeDim / 2)]")
            }
            let factors = gguf.floats(info)
            guard factors.allSatisfy({ $0.isFinite && $0 > 0 }) else { throw GGUFError("tensor rope_freqs.weight must be positive") }
            ropeFrequencyFactors = factors
        }
        try architecture.readDetails(m, &self)
    }

    public static let embeddingScaleKey = "rotary.embedding_scale"

    /// The RoPE a layer uses.
    public func rope(layer: Int) -> RoPEConfiguration {
        if case .slidingWindow = layerAttention[layer], let localRope { return localRope }
        return rope
    }

    /// This model with another RoPE on its global-attention layers, for one request (the sliding-window
    /// layers keep their own base, as Gemma 3's `rope_scaling` leaves them). The file's per-pair frequency
    /// factors (Llama 3's `rope_freqs.weight`) stay unless `keepFrequencyFactors` is false: a request that
    /// names its own `rope_type` defines the frequencies itself.
    public func with(rope: RoPEConfiguration, keepFrequencyFactors: Bool) -> ModelConfiguration {
        var changed = self
        changed.rope = rope
        if !keepFrequencyFactors || rope.pairCount != self.rope.pairCount { changed.ropeFrequencyFactors = nil }
        return changed
    }
}

extension ArchitectureDescription: Equatable {
    public static func == (a: ArchitectureDescription, b: ArchitectureDescription) -> Bool { a.name == b.name }
}
