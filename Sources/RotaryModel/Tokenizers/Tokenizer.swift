/// Text to token ids and back, for one GGUF vocabulary. Each algorithm (`tokenizer.ggml.model`) is one
/// conforming type; `TokenizerFactory` picks it. The service, the CLI and training see only this.
public protocol Tokenizer: Sendable {
    /// The GGUF `tokenizer.ggml.model` this implements: `llama` (SentencePiece), `gpt2` (byte-level BPE).
    var model: String { get }
    var vocabularySize: Int { get }
    /// BOS, EOS, unknown and the other special ids, and whether encoding adds BOS / EOS.
    var special: SpecialTokens { get }

    /// `tokenizer.ggml.token_type` of `id` (as llama.cpp reads it); `.undefined` outside the vocabulary.
    func tokenType(_ id: Int) -> TokenType
    /// The vocabulary entry of `id` as stored (`▁Hello`, `ĠHello`, `<|im_start|>`); "" outside the vocabulary.
    func piece(_ id: Int) -> String
    /// The bytes `id` stands for in output: none for control, unknown and unused tokens; a byte token is
    /// one byte, possibly part of a character.
    func pieceBytes(_ id: Int) -> [UInt8]

    /// Token ids for `text`: BOS / EOS around it when `addSpecial` and the vocabulary adds them; control
    /// tokens written in the text (`<|im_start|>`, `<s>`) become their ids only when `parseSpecial`, and
    /// are plain text otherwise. User-defined tokens are always matched whole, as llama.cpp does.
    func encode(_ text: String, addSpecial: Bool, parseSpecial: Bool) -> [Int]
    /// As above, with `literal` UTF-8 byte ranges of `text` in which control tokens stay text even when
    /// parsing: a chat prompt's message contents, so that what a user types never acts as a control token.
    func encode(_ text: String, addSpecial: Bool, parseSpecial: Bool, literal: [Range<Int>]) -> [Int]
    /// Each token's bytes with `ids` read as the start of a sequence (`pieceBytes`, except that a
    /// SentencePiece vocabulary drops the space prefix its encoding added).
    /// - Returns: `[ids.count]` byte strings.
    func sequenceBytes(_ ids: [Int]) -> [[UInt8]]
    /// The text of `ids` read as the start of a sequence, control tokens dropped, as llama.cpp's
    /// detokenize gives it (invalid UTF-8 as U+FFFD).
    func decode(_ ids: [Int]) -> String
}

extension Tokenizer {
    /// Token ids for `text` with written control tokens left as text.
    public func encode(_ text: String, addSpecial: Bool = true) -> [Int] {
        encode(text, addSpecial: addSpecial, parseSpecial: false)
    }

    public var bosID: Int? { special.bos }
    public var eosID: Int? { special.eos }
    public var unknownID: Int? { special.unknown }
    /// Encoding with `addSpecial` puts BOS first.
    public var addBOS: Bool { special.addBOS }

    /// One token's text (a lone byte token decodes to U+FFFD unless it is ASCII).
    public func decodePiece(_ id: Int) -> String { String(decoding: pieceBytes(id), as: UTF8.self) }

    /// Each token's text with `ids` read from the start of a sequence (`sequenceBytes`), a character
    /// split over byte tokens given to the token that completes it.
    public func sequenceTexts(_ ids: [Int]) -> [String] { IncrementalUTF8.texts(of: sequenceBytes(ids)) }
}

/// What a token is, as GGUF's `tokenizer.ggml.token_type` codes it (llama.cpp's values).
public enum TokenType: Int32, Sendable {
    case undefined = 0, normal = 1, unknown = 2, control = 3, userDefined = 4, unused = 5, byte = 6

    /// A code outside the list reads as `.undefined`, as llama.cpp reads it.
    public init(code: Int) { self = TokenType(rawValue: Int32(truncatingIfNeeded: code)) ?? .undefined }
}

/// A vocabulary's special token ids (nil: the vocabulary has none) and its BOS / EOS flags.
public struct SpecialTokens: Sendable, Equatable {
    public var bos: Int?
    public var eos: Int?
    public var unknown: Int?
    public var endOfTurn: Int?
    public var endOfMessage: Int?
    public var separator: Int?
    public var padding: Int?
    public var mask: Int?
    public var fillInMiddlePrefix: Int?
    public var fillInMiddleSuffix: Int?
    public var fillInMiddleMiddle: Int?
    public var fillInMiddlePad: Int?
    public var fillInMiddleRepository: Int?
    public var fillInMiddleSeparator: Int?
    /// `tokenizer.ggml.add_bos_token` (or the model's default).
    public var addBOS: Bool
    /// `tokenizer.ggml.add_eos_token` (or the model's default).
    public var addEOS: Bool
    /// Tokens that end generation: EOS, end of turn / message and the end-looking tokens llama.cpp
    /// recognises by their text (`<|im_end|>`, `<|endoftext|>`, …).
    public var endOfGeneration: Set<Int>

    public init(bos: Int? = nil, eos: Int? = nil, unknown: Int? = nil, addBOS: Bool = false, addEOS: Bool = false) {
        self.bos = bos
        self.eos = eos
        self.unknown = unknown
        self.addBOS = addBOS
        self.addEOS = addEOS
        endOfGeneration = eos.map { [$0] } ?? []
    }
}
