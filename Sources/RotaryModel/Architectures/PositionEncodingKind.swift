/// How a model knows token positions. `rope` is the standard `llama` GGUF that llama.cpp reads; the
/// others are Rotary's own (metadata `rotary.position_encoding`), for the training comparison.
public enum PositionEncodingKind: String, CaseIterable, Sendable {
    /// Rotary embeddings on queries and keys.
    case rope
    /// Vaswani et al.'s sinusoids added to the token embeddings.
    case sinusoidal
    /// A trained table `position_embd.weight` `[context][dim]` added to the token embeddings.
    case learned
    /// No position information (causal masking alone).
    case none

    public static let metadataKey = "rotary.position_encoding"
}
