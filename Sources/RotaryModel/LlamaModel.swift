import RotaryNumerics

/// A Llama-architecture language model: embedding, blocks of (RMSNorm, attention with RoPE and
/// grouped-query heads, RMSNorm, SwiGLU), final norm, output head. Immutable; many callers may share it,
/// each with its own `KVCache`.
public final class LlamaModel: Sendable {
    public let configuration: LlamaConfiguration
    public let weights: LlamaWeights
    public let tokenizer: any Tokenizer
    public let file: GGUFFile

    public init(file: GGUFFile) throws(GGUFError) {
        self.file = file
        tokenizer = try TokenizerFactory.make(gguf: file)
        configuration = try LlamaConfiguration(gguf: file, vocabularySize: tokenizer.vocabularySize)
        weights = try LlamaWeights(file: file, configuration: configuration)
    }

    public convenience init(path: String) throws(GGUFError) {
        try self.init(file: GGUFFile(path: path))
    }

    public func makeCache(capacity: Int? = nil) -> KVCache { KVCache(configuration: configuration, capacity: capacity) }

    /// Runs `tokens` at positions `cache.count…` through the model, appending to the cache.
    /// - Returns: logits `[tokens.count][vocab]` when `allLogits`, else `[vocab]` for the last token.
    public func forward(_ tokens: [Int], cache: inout KVCache, allLogits: Bool = false) -> [Float] {
        LlamaForward.run(configuration, weights: weights, tokens: tokens, cache: &cache, logitRows: allLogits ? tokens.count : 1).logits
    }

    /// The attention weights of every head of `layer` for `tokens` read from position 0.
    /// - Returns: `[heads][tokens.count][tokens.count]`, causal (zeros above the diagonal).
    public func attentionWeights(_ tokens: [Int], layer: Int) -> [Float] {
        precondition(layer >= 0 && layer < configuration.layers, "no layer \(layer)")
        var weights: [Float] = []
        var cache = makeCache(capacity: tokens.count)
        _ = LlamaForward.run(configuration, weights: self.weights, tokens: tokens, cache: &cache, logitRows: 1,
                             record: { l, activations in if l == layer { weights = activations.probabilities } },
                             probabilitiesOf: { $0 == layer })
        return weights
    }
}
