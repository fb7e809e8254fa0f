/// The tokenizer a GGUF file's `tokenizer.ggml.model` names: one entry per algorithm.
public enum TokenizerFactory {
    public typealias Constructor = @Sendable (GGUFFile) throws(GGUFError) -> any Tokenizer

    public static let constructors: [String: Constructor] = [
        "llama": { file throws(GGUFError) in try SentencePieceTokenizer(gguf: file) },
        "gpt2": { file throws(GGUFError) in try BytePairTokenizer(gguf: file) },
    ]

    public static func make(gguf: GGUFFile) throws(GGUFError) -> any Tokenizer {
        guard let value = gguf.value("tokenizer.ggml.model") else { throw GGUFError("tokenizer.ggml.model is missing") }
        guard let model = value.string else { throw GGUFError("tokenizer.ggml.model is not a string") }
        guard let make = constructors[model] else {
            throw GGUFError("tokenizer.ggml.model '\(model)' is not supported (supported: \(constructors.keys.sorted().joined(separator: ", ")))")
        }
        return try make(gguf)
    }
}
