/// What every GGUF tokenizer reads alike: the token strings and types, the special ids and the BOS / EOS
/// flags, with llama.cpp's corrections by token text (end-looking tokens are control tokens; Phi-3's
/// special tokens swallow the whitespace after them).
struct VocabularyMetadata {
    var pieces: [String]
    var types: [TokenType]
    var special: SpecialTokens
    /// Special tokens after which the following whitespace is dropped from the text.
    var rightStripped: Set<Int> = []

    /// - Parameters:
    ///   - defaults: the model's special ids and flags where the file has no key (an id outside the
    ///     vocabulary is dropped, as llama.cpp does).
    ///   - typesRequired: whether `tokenizer.ggml.token_type` must be present (else every token is normal).
    init(gguf: GGUFFile, defaults: SpecialTokens, typesRequired: Bool) throws(GGUFError) {
        guard let tokens = gguf.value("tokenizer.ggml.tokens")?.array?.compactMap(\.string), !tokens.isEmpty else {
            throw GGUFError("tokenizer.ggml.tokens is missing or not strings")
        }
        pieces = tokens
        if let codes = gguf.value("tokenizer.ggml.token_type")?.array?.compactMap(\.int) {
            guard codes.count == tokens.count else {
                throw GGUFError("tokenizer.ggml.token_type has \(codes.count) entries for \(tokens.count) tokens")
            }
            types = codes.map(TokenType.init(code:))
        } else if typesRequired {
            throw GGUFError("tokenizer.ggml.token_type has 0 entries for \(tokens.count) tokens")
        } else {
            types = Array(repeating: .normal, count: tokens.count)
        }
        func id(_ key: String, _ fallback: Int?) throws(GGUFError) -> Int? {
            guard let value = gguf.value(key) else { return fallback.flatMap { $0 < tokens.count ? $0 : nil } }
            guard let id = value.int, id >= 0, id < tokens.count else { throw GGUFError("\(key) is not a token id") }
            return id
        }
        var s = defaults
        s.bos = try id("tokenizer.ggml.bos_token_id", defaults.bos)
        s.eos = try id("tokenizer.ggml.eos_token_id", defaults.eos)
        s.unknown = try id("tokenizer.ggml.unknown_token_id", defaults.unknown)
        s.endOfTurn = try id("tokenizer.ggml.eot_token_id", nil)
        s.endOfMessage = try id("tokenizer.ggml.eom_token_id", nil)
        s.separator = try id("tokenizer.ggml.seperator_token_id", nil)   // llama.cpp's spelling
        s.padding = try id("tokenizer.ggml.padding_token_id", nil)
        s.mask = try id("tokenizer.ggml.mask_token_id", nil)
        // The older prefix/suffix/middle keys win over the fim_* ones, as llama.cpp reads them last.
        s.fillInMiddlePrefix = try id("tokenizer.ggml.prefix_token_id", id("tokenizer.ggml.fim_pre_token_id", nil))
        s.fillInMiddleSuffix = try id("tokenizer.ggml.suffix_token_id", id("tokenizer.ggml.fim_suf_token_id", nil))
        s.fillInMiddleMiddle = try id("tokenizer.ggml.middle_token_id", id("tokenizer.ggml.fim_mid_token_id", nil))
        s.fillInMiddlePad = try id("tokenizer.ggml.fim_pad_token_id", nil)
        s.fillInMiddleRepository = try id("tokenizer.ggml.fim_rep_token_id", nil)
        s.fillInMiddleSeparator = try id("tokenizer.ggml.fim_sep_token_id", nil)
        for (key, flag) in [("tokenizer.ggml.add_bos_token", \SpecialTokens.addBOS), ("tokenizer.ggml.add_eos_token", \.addEOS)] {
            guard let value = gguf.value(key) else { continue }
            guard let on = value.bool else { throw GGUFError("\(key) is not a boolean") }
            s[keyPath: flag] = on
        }
        if s.addBOS && s.bos == nil { throw GGUFError("tokenizer.ggml.add_bos_token is true but there is no tokenizer.ggml.bos_token_id") }
        if s.addEOS && s.eos == nil { throw GGUFError("tokenizer.ggml.add_eos_token is true but there is no tokenizer.ggml.eos_token_id") }
        special = s
        recogniseSpecialTokensByText()
        if let name = gguf.value("general.name")?.string?.lowercased(), name.contains("phi-3") || name.contains("phi3") {
            stripAfterPhi3SpecialTokens()
        }
    }

    /// llama.cpp's fixes by token text: an unset end-of-turn or fill-in-the-middle id is found by its usual
    /// text, and every end-looking token is a control token that ends generation.
    private mutating func recogniseSpecialTokensByText() {
        var idsByText: [String: Int] = [:]
        for (id, piece) in pieces.enumerated() where Self.endOfGenerationTexts.contains(piece) || Self.fillInMiddleTexts.contains(piece) {
            if idsByText[piece] == nil { idsByText[piece] = id }
        }
        func find(_ texts: [String]) -> Int? { texts.compactMap { idsByText[$0] }.min() }
        if special.endOfTurn == nil, let id = find(Self.endOfTurnTexts) { special.endOfTurn = id }
        if special.endOfMessage == nil, let id = find(["<|eom_id|>"]) { special.endOfMessage = id }
        let fillInMiddle: [(WritableKeyPath<SpecialTokens, Int?>, [String])] = [
            (\.fillInMiddlePrefix, ["<|fim_prefix|>", "<fim-prefix>", "<fim_prefix>", "<｜fim▁begin｜>", "<PRE>", "▁<PRE>", "<|code_prefix|>", "<|prefix|>"]),
            (\.fillInMiddleSuffix, ["<|fim_suffix|>", "<fim-suffix>", "<fim_suffix>", "<｜fim▁hole｜>", "<SUF>", "▁<SUF>", "<|code_suffix|>", "<|suffix|>"]),
            (\.fillInMiddleMiddle, ["<|fim_middle|>", "<fim-middle>", "<fim_middle>", "<｜fim▁end｜>", "<MID>", "▁<MID>", "<|code_middle|>", "<|middle|>"]),
            (\.fillInMiddlePad, ["<|fim_pad|>", "<fim-pad>", "<fim_pad>", "<PAD>", "[PAD]"]),
            (\.fillInMiddleRepository, ["<|fim_repo|>", "<|repo_name|>", "<fim-repo>", "<REPO>", "<reponame>"]),
            (\.fillInMiddleSeparator, ["<|file_sep|>"]),
        ]
        for (path, texts) in fillInMiddle where special[keyPath: path] == nil {
            guard let id = find(texts) else { continue }
            special[keyPath: path] = id
            types[id] = .control
        }
        var ends = Set([special.fillInMiddlePad, special.fillInMiddleRepository, special.fillInMiddleSeparator].compactMap { $0 })
        for (id, piece) in pieces.enumerated() where Self.endOfGenerationTexts.contains(piece) {
            ends.insert(id)
            types[id] = .control
        }
        ends.formUnion([special.eos, special.endOfTurn, special.endOfMessage].compactMap { $0 })
        special.endOfGeneration = ends
    }

    /// Phi-3's special tokens drop the whitespace that follows them in the text, but `<unk>`, `<s>` and
    /// `<|endoftext|>` do not (llama.cpp keys this on the model's name).
    private mutating func stripAfterPhi3SpecialTokens() {
        for (id, type) in types.enumerated() where [.control, .userDefined, .unknown].contains(type) { rightStripped.insert(id) }
        for (id, piece) in pieces.enumerated() {
            if piece == "</s>" { rightStripped.insert(id) }
            if ["<unk>", "<s>", "<|endoftext|>"].contains(piece) { rightStripped.remove(id) }
        }
    }

    static let endOfTurnTexts = ["<|eot_id|>", "<|im_end|>", "<|end|>", "<end_of_turn>", "<|endoftext|>", "<|end_of_text|>",
                                 "<EOT>", "_<EOT>", "[EOT]", "<｜end▁of▁sentence｜>", "<end_of_utterance>"]
    static let endOfGenerationTexts: Set<String> = [
        "<|eot_id|>", "<|im_end|>", "<|end|>", "<|return|>", "<|call|>", "<|flush|>", "<|calls|>", "<end_of_turn>",
        "<|endoftext|>", "</s>", "<|eom_id|>", "<EOT>", "_<EOT>", "[EOT]", "[EOS]", "<|end_of_text|>", "<end_of_utterance>",
        "<eos>", "<turn|>", "<|tool_response>", "<｜end▁of▁sentence｜>", "[e~[",
    ]
    static let fillInMiddleTexts: Set<String> = [
        "<|fim_prefix|>", "<fim-prefix>", "<fim_prefix>", "<｜fim▁begin｜>", "<PRE>", "▁<PRE>", "<|code_prefix|>", "<|prefix|>",
        "<|fim_suffix|>", "<fim-suffix>", "<fim_suffix>", "<｜fim▁hole｜>", "<SUF>", "▁<SUF>", "<|code_suffix|>", "<|suffix|>",
        "<|fim_middle|>", "<fim-middle>", "<fim_middle>", "<｜fim▁end｜>", "<MID>", "▁<MID>", "<|code_middle|>", "<|middle|>",
        "<|fim_pad|>", "<fim-pad>", "<fim_pad>", "<PAD>", "[PAD]", "<|fim_repo|>", "<|repo_name|>", "<fim-repo>", "<REPO>",
        "<reponame>", "<|file_sep|>",
    ]
}
