import RotaryNumerics

extension ArchitectureDescription {
    /// Gemma 3 (text): embeddings scaled by √dim, RMSNorm on every query and key head, norms on the attention
    /// and feed-forward outputs, GELU-gated feed-forward, NeoX RoPE, and layers that attend to a sliding window
    /// (with their own RoPE base) except one in `sliding_window_pattern` (default 6), which attends globally.
    /// Norm weights are stored with Gemma's `1 +` already added by the converter, so the RMSNorm is the plain one.
    public static let gemma3 = ArchitectureDescription(
        name: "gemma3", ropeLayout: .half, attentionBiases: false, queryKeyNorms: true, outputNorms: true,
        activation: .geluTanh, scalesEmbedding: true, ropeFrequencyFactors: false,
        readDetails: { (metadata: MetadataReader, c: inout LlamaConfiguration) throws(GGUFError) in
            let window = try metadata.int("attention.sliding_window", 1...1 << 20)
            let pattern = try metadata.int("attention.sliding_window_pattern", 1...1024, default: 6)
            // Layer l is global when (l + 1) is a multiple of the pattern: the last of every `pattern` layers.
            c.layerAttention = (0..<c.layers).map { ($0 + 1) % pattern == 0 ? .global : .slidingWindow(window) }
            let localBase = try metadata.number("rope.freq_base_swa", default: 10_000)
            do {
                c.localRope = try RoPEConfiguration(headDim: c.headDim, theta: localBase, layout: .half,
                                                    rotaryDim: c.rope.rotaryDim, maxPositionEmbeddings: c.contextLength)
            } catch {
                throw GGUFError("gemma3 sliding-window RoPE: \(error)")
            }
            // Gemma 3 27B scales queries by 1/√(dim / heads); the other sizes by 1/√key_length.
            c.queryScale = c.layers == 62 ? 1 / Float(c.dim / c.heads).squareRoot() : 1 / Float(c.headDim).squareRoot()
            if metadata.has("final_logit_softcapping") {
                let cap = try metadata.number("final_logit_softcapping")
                guard cap > 0 else { throw GGUFError("gemma3.final_logit_softcapping must be positive") }
                c.finalLogitSoftcap = Float(cap)
            }
        })
}
