extension ArchitectureDescription {
    /// Llama 1–3, SmolLM, Mistral-style files: SwiGLU, RoPE on llama.cpp's permuted Q/K (adjacent pairs),
    /// optional `rope_freqs.weight` (Llama 3.1's frequency divisors) and optional tied output.
    public static let llama = ArchitectureDescription(
        name: "llama", ropeLayout: .interleaved, attentionBiases: false, queryKeyNorms: false, outputNorms: false,
        activation: .silu, scalesEmbedding: false, ropeFrequencyFactors: true, readDetails: { _, _ in })
}
