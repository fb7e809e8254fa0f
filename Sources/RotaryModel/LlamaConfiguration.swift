import RotaryNumerics

/// The hyper-parameters of a Llama-architecture model, read from GGUF metadata (`<arch>.*`) and
/// checked: a missing key or an impossible value is an error that names the key.
public struct LlamaConfiguration: Sendable, Equatable {
    public var dim: Int
    public var layers: Int
    public var heads: Int
    public var kvHeads: Int
    public var feedForwardDim: Int
    public var contextLength: Int
    public var vocabularySize: Int
    public var rmsEpsilon: Float
    public var rope: RoPEConfiguration
    /// RoPE for `llama` files; set otherwise by `rotary.position_encoding`.
    public var positionEncoding: PositionEncodingKind = .rope

    public var headDim: Int { dim / heads }
    public var kvDim: Int { kvHeads * headDim }

    public init(dim: Int, layers: Int, heads: Int, kvHeads: Int, feedForwardDim: Int, contextLength: Int,
                vocabularySize: Int, rmsEpsilon: Float, rope: RoPEConfiguration, positionEncoding: PositionEncodingKind = .rope) {
        self.dim = dim
        self.layers = layers
        self.heads = heads
        self.kvHeads = kvHeads
        self.feedForwardDim = feedForwardDim
        self.contextLength = contextLength
        self.vocabularySize = vocabularySize
        self.rmsEpsilon = rmsEpsilon
        self.rope = rope
        self.positionEncoding = positionEncoding
    }

    public init(gguf: GGUFFile, vocabularySize: Int) throws(GGUFError) {
        let arch = gguf.value("general.architecture")?.string ?? "llama"
        guard arch == "llama" else { throw GGUFError("general.architecture '\(arch)' is not supported (only 'llama')") }
        func int(_ key: String, _ range: ClosedRange<Int>, default fallback: Int? = nil) throws(GGUFError) -> Int {
            let full = "\(arch).\(key)"
            guard let raw = gguf.value(full) else {
                if let fallback { return fallback }
                throw GGUFError("\(full) is missing")
            }
            guard let value = raw.int, range.contains(value) else { throw GGUFError("\(full) must be an integer in \(range)") }
            return value
        }
        func number(_ key: String, default fallback: Double? = nil) throws(GGUFError) -> Double {
            let full = "\(arch).\(key)"
            guard let raw = gguf.value(full) else {
                if let fallback { return fallback }
                throw GGUFError("\(full) is missing")
            }
            guard let value = raw.double, value.isFinite else { throw GGUFError("\(full) must be a finite number") }
            return value
        }
        dim = try int("embedding_length", 1...65_536)
        layers = try int("block_count", 1...1024)
        heads = try int("attention.head_count", 1...1024)
        kvHeads = try int("attention.head_count_kv", 1...1024, default: heads)
        feedForwardDim = try int("feed_forward_length", 1...1 << 20)
        contextLength = try int("context_length", 1...1 << 20)
        self.vocabularySize = vocabularySize
        guard dim % heads == 0 else { throw GGUFError("\(arch).embedding_length (\(dim)) is not a multiple of the head count (\(heads))") }
        guard heads % kvHeads == 0 else { throw GGUFError("\(arch).attention.head_count must be a multiple of head_count_kv") }
        let headDim = dim / heads
        let epsilon = try number("attention.layer_norm_rms_epsilon", default: 1e-5)
        guard epsilon > 0, epsilon < 1 else { throw GGUFError("\(arch).attention.layer_norm_rms_epsilon must be in (0, 1)") }
        rmsEpsilon = Float(epsilon)
        let ropeDim = try int("rope.dimension_count", 2...headDim, default: headDim)
        let theta = try number("rope.freq_base", default: 10_000)
        let scaling: RoPEScaling
        let scalingType = gguf.value("\(arch).rope.scaling.type")?.string ?? "none"
        switch scalingType {
        case "none": scaling = .none
        case "linear": scaling = .linear(factor: try number("rope.scaling.factor"))
        case "yarn":
            let original = try int("rope.scaling.original_context_length", 1...1 << 20, default: contextLength)
            scaling = .yarn(YaRNParameters(factor: try number("rope.scaling.factor"), originalMaxPositionEmbeddings: original))
        default: throw GGUFError("\(arch).rope.scaling.type '\(scalingType)' is not supported (none, linear, yarn)")
        }
        if let raw = gguf.value(PositionEncodingKind.metadataKey) {
            guard let name = raw.string, let kind = PositionEncodingKind(rawValue: name) else {
                throw GGUFError("\(PositionEncodingKind.metadataKey) must be one of \(PositionEncodingKind.allCases.map(\.rawValue))")
            }
            positionEncoding = kind
        }
        do {
            // llama.cpp's "normal" RoPE for llama files: adjacent pairs of the stored (permuted) Q/K.
            rope = try RoPEConfiguration(headDim: headDim, theta: theta, layout: .interleaved, scaling: scaling,
                                         rotaryDim: ropeDim, maxPositionEmbeddings: contextLength)
        } catch {
            throw GGUFError("RoPE settings: \(error.description)")
        }
    }
}
