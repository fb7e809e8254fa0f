import RotaryNumerics

/// A Llama-architecture language model: embedding, blocks of (RMSNorm, attention with RoPE and
/// grouped-query heads, RMSNorm, SwiGLU), final norm, output head. Immutable; many callers may share it,
/// each with its own `KVCache`.
public final class LlamaModel: Sendable {
    public let configuration: ModelConfiguration
    public let weights: ModelWeights
    public let tokenizer: any Tokenizer
    public let file: GGUFFile

    /// - Parameter exactActivations: keep activations in float in every product (see `ModelConfiguration`).
    public init(file: GGUFFile, exactActivations: Bool = false) throws(GGUFError) {
        self.file = file
        tokenizer = try TokenizerFactory.make(gguf: file)
        var configuration = try ModelConfiguration(gguf: file, vocabularySize: tokenizer.vocabularySize)
        configuration.exactActivations = exactActivations
        self.configuration = configuration
        weights = try ModelWeights(file: file, configuration: configuration)
    }

    public convenience init(path: String, exactActivations: Bool = false) throws(GGUFError) {
        try self.init(file: GGUFFile(path: path), exactActivations: exactActivations)
    }

    /// What start-up and `/v1/model` state: e.g. `llama, tokenizer gpt2 (smollm), 134.5M parameters in
    /// Q4_1 ×210, F32 ×61, Q8_0 ×1 (98.4 MB mapped)`.
    public var summary: String {
        let tokenizerModel = file.value("tokenizer.ggml.model")?.string ?? "?"
        let pre = file.value("tokenizer.ggml.pre")?.string.map { " (\($0))" } ?? ""
        let formats = weights.formatCounts.sorted { ($0.value, $1.key) > ($1.value, $0.key) }.map { "\($0.key) ×\($0.value)" }
        let millions = Double(weights.parameterCount) / 1e6, megabytes = Double(weights.storedBytes) / 1e6
        return "\(configuration.architecture.name), tokenizer \(tokenizerModel)\(pre), "
            + "\((millions * 10).rounded() / 10)M parameters in \(formats.joined(separator: ", ")) "
            + "(\((megabytes * 10).rounded() / 10) MB mapped), context \(configuration.contextLength)"
    }

    public func makeCache(capacity: Int? = nil) -> KVCache { KVCache(configuration: configuration, capacity: capacity) }

    /// Runs `tokens` at positions `cache.count…` through the model, appending to the cache.
    /// - Returns: logits `[tokens.count][vocab]` when `allLogits`, else `[vocab]` for the last token.
    /// - Parameter configuration: this model's configuration with another RoPE (`with(rope:)`); nil is its own.
    public func forward(_ tokens: [Int], cache: inout KVCache, allLogits: Bool = false,
                        configuration override: ModelConfiguration? = nil) -> [Float] {
        TransformerForward.run(override ?? configuration, weights: weights, tokens: tokens, cache: &cache,
                               logitRows: allLogits ? tokens.count : 1, tables: ropeTables).logits
    }

    /// cos/sin tables of whole prompts and windows (positions from 0), per RoPE configuration: windows of a
    /// long text and repeated prompts skip the transcendental functions.
    let ropeTables = RoPETableCache(maxEntries: 16, maxBytes: 32 << 20)

    /// The attention weights of every head of `layer` for `tokens` read from position 0.
    /// - Returns: `[heads][tokens.count][tokens.count]`, causal (zeros above the diagonal).
    public func attentionWeights(_ tokens: [Int], layer: Int, configuration override: ModelConfiguration? = nil) -> [Float] {
        precondition(layer >= 0 && layer < configuration.layers, "no layer \(layer)")
        var weights: [Float] = []
        var cache = makeCache(capacity: tokens.count)
        _ = TransformerForward.run(override ?? configuration, weights: self.weights, tokens: tokens, cache: &cache, logitRows: 1,
                                   tables: ropeTables,
                             record: { l, activations in if l == layer { weights = activations.probabilities } },
                             probabilitiesOf: { $0 == layer })
        return weights
    }
}
