extension ArchitectureDescription {
    /// Qwen2 / Qwen2.5: Llama's blocks with q/k/v biases and NeoX RoPE (first half paired with second half).
    public static let qwen2 = ArchitectureDescription(
        name: "qwen2", ropeLayout: .half, attentionBiases: true, queryKeyNorms: false, outputNorms: false,
        activation: .silu, scalesEmbedding: false, ropeFrequencyFactors: false, readDetails: { _, _ in })
}
