import RotaryNumerics

extension ArchitectureDescription {
    /// Gemma 3 (text): embeddings scaled by √dim, RMSNorm on every query and key head, norms on the attention
    /// and feed-forward outputs, GELU-gated feed-forward, NeoX RoPE, and layers that attend to a sliding window
    /// (with their own RoPE base) except one in `sliding_window_pattern` (default 6), which attends globally.
    /// Norm weights are stored with Gemma's `1 +` already added by the converter, so the RMSNorm is the plain one.
    public static let gemma3 = ArchitectureDescription(
        name: "gemma3", ropeLayout: .half, attentionBiases: false, queryKeyNorms: true, outputNorms: true,
        activation: .geluTanh, scalesEmbedding: true, ropeFrequencyFactors: false,
        readDetails: { (metadata: MetadataReader, c: inout ModelConfiguration) throws(GGUFError) in
            // No window (or 0): every layer is global.
            let window = try metadata.int("attention.sliding_window", 0...1 << 20, default: 0)
            if window > 0 {
                let sliding = try slidingLayers(metadata, layers: c.layers)
                c.layerAttention = sliding.map { $0 ? .slidingWindow(window) : .global }
            }
            let localBase = try metadata.number("rope.freq_base_swa", default: 10_000)
            do {
                // Linear scaling, where the file sets it, applies to the global layers only.
                c.localRope = try RoPEConfiguration(headDim: c.headDim, theta: localBase, layout: .half,
                                                    rotaryDim: c.rope.rotaryDim, maxPositionEmbeddings: c.contextLength)
            } catch {
                throw GGUFError("gemma3 sliding-window RoPE: \(error)")
            }
            // Gemma 3 27B scales queries by 1/√(dim / heads); the other sizes by 1/√key_length.
            c.queryScale = c.layers == 62 ? 1 / Float(c.dim / c.heads).squareRoot() : 1 / Float(c.headDim).squareRoot()
            let cap = try metadata.number("final_logit_softcapping", default: 0)
            guard cap >= 0 else { throw GGUFError("gemma3.final_logit_softcapping must not be negative") }
            if cap > 0 { c.finalLogitSoftcap = Float(cap) }
        })

    /// Which layers attend to a window: `attention.sliding_window_pattern` is a period (layer l slides unless
    /// it is the last of each period; default 6) or one bool per layer (true: sliding).
    private static func slidingLayers(_ metadata: MetadataReader, layers: Int) throws(GGUFError) -> [Bool] {
        let key = "\(metadata.prefix).attention.sliding_window_pattern"
        if case .array(_, let items)? = metadata.file.value(key) {
            let flags = items.compactMap { item -> Bool? in if case .bool(let b) = item { b } else { nil } }
            guard flags.count == items.count, flags.count == layers else {
                throw GGUFError("\(key) must be a period or one bool per layer (\(layers))")
            }
            return flags
        }
        let period = try metadata.int("attention.sliding_window_pattern", 1...1024, default: 6)
        return (0..<layers).map { $0 % period < period - 1 }
    }
}
