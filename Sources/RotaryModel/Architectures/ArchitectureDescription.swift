import RotaryNumerics

/// The gated feed-forward's activation: hidden = act(gate) · up.
public enum FeedForwardActivation: String, Sendable {
    /// SwiGLU (Llama, Qwen2).
    case silu
    /// GELU with the tanh approximation (Gemma).
    case geluTanh = "gelu_tanh"
}

/// Which keys a layer's queries attend to.
public enum LayerAttention: Sendable, Equatable {
    /// Every earlier position.
    case global
    /// The last `window` positions, the query's own included (llama.cpp's standard sliding window).
    case slidingWindow(Int)
}

/// What a transformer architecture is, as data: which optional tensors it has, how it pairs RoPE
/// dimensions, its activation, and how its metadata sets the per-layer details. One value per
/// `general.architecture`; a new architecture is a new file that adds one to `ArchitectureDescription.known`.
public struct ArchitectureDescription: Sendable {
    /// `general.architecture`, which is also the prefix of its metadata keys.
    public let name: String
    /// Which dimensions RoPE rotates together in the stored Q/K (`interleaved`: llama.cpp's "normal" RoPE
    /// on permuted weights; `half`: NeoX).
    public let ropeLayout: RoPELayout
    /// q/k/v projections carry biases (`blk.N.attn_q.bias`...).
    public let attentionBiases: Bool
    /// RMSNorm of each query and key head before RoPE (`attn_q_norm`, `attn_k_norm`).
    public let queryKeyNorms: Bool
    /// RMSNorm of the attention and feed-forward outputs before each residual add (`post_attention_norm`, `post_ffw_norm`).
    public let outputNorms: Bool
    public let activation: FeedForwardActivation
    /// The token embedding is multiplied by √dim.
    public let scalesEmbedding: Bool
    /// Reads `rope_freqs.weight` (Llama 3's per-pair frequency divisors) when the file has it.
    public let ropeFrequencyFactors: Bool
    /// Architecture-specific metadata: layer attention kinds, a second RoPE base, query scale, soft-capping.
    let readDetails: @Sendable (MetadataReader, inout ModelConfiguration) throws(GGUFError) -> Void

    public static let known: [String: ArchitectureDescription] = Dictionary(
        uniqueKeysWithValues: [llama, qwen2, gemma3].map { ($0.name, $0) })

    public static func named(_ name: String) throws(GGUFError) -> ArchitectureDescription {
        guard let architecture = known[name] else {
            throw GGUFError("general.architecture '\(name)' is not supported (\(known.keys.sorted().joined(separator: ", ")))")
        }
        return architecture
    }
}

/// Typed, checked reads of `<architecture>.<key>` metadata: a missing key without a default or an
/// impossible value is an error that names the key.
public struct MetadataReader: Sendable {
    public let file: GGUFFile
    public let prefix: String

    public func int(_ key: String, _ range: ClosedRange<Int>, default fallback: Int? = nil) throws(GGUFError) -> Int {
        let full = "\(prefix).\(key)"
        guard let raw = file.value(full) else {
            if let fallback { return fallback }
            throw GGUFError("\(full) is missing")
        }
        guard let value = raw.int, range.contains(value) else { throw GGUFError("\(full) must be an integer in \(range)") }
        return value
    }

    public func number(_ key: String, default fallback: Double? = nil) throws(GGUFError) -> Double {
        let full = "\(prefix).\(key)"
        guard let raw = file.value(full) else {
            if let fallback { return fallback }
            throw GGUFError("\(full) is missing")
        }
        guard let value = raw.double, value.isFinite else { throw GGUFError("\(full) must be a finite number") }
        return value
    }

    public func has(_ key: String) -> Bool { file.value("\(prefix).\(key)") != nil }
}
