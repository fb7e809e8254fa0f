/// A GGUF that holds a vocabulary and no weights (llama.cpp's `ggml-vocab-*.gguf`): enough to tokenize.
public struct VocabularyFile: Sendable {
    public let file: GGUFFile
    public let tokenizer: any Tokenizer
    /// `<architecture>.context_length`, when the file states it.
    public let contextLength: Int?

    public init(file: GGUFFile) throws(GGUFError) {
        self.file = file
        tokenizer = try TokenizerFactory.make(gguf: file)
        let architecture = file.value("general.architecture")?.string ?? "llama"
        contextLength = file.value("\(architecture).context_length")?.int
    }

    /// Whether a file is vocabulary-only: it has no tensors at all.
    public static func isVocabularyOnly(_ file: GGUFFile) -> Bool { file.tensors.isEmpty }
}
