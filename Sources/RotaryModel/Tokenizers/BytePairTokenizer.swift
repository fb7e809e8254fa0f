/// llama.cpp's byte-level BPE ("gpt2") tokenizer, from GGUF metadata: text is cut into words by the
/// vocabulary's pre-tokenizer (`tokenizer.ggml.pre`), each word's UTF-8 bytes are merged by rank
/// (`tokenizer.ggml.merges`), and tokens are strings of GPT-2's byte alphabet (`Ġ` for a space).
public struct BytePairTokenizer: Tokenizer {
    public let pieces: [String]
    public let types: [TokenType]
    public let special: SpecialTokens
    /// `tokenizer.ggml.pre` as read (`default` when the file has none).
    public let preTokenizerName: String
    let preTokenizer: PreTokenizer
    /// `tokenizer.ggml.add_space_prefix`: for this algorithm it only makes decoding drop one leading space.
    private let dropsLeadingSpace: Bool
    /// Token ids by the bytes their strings stand for.
    private let tokensByBytes: ByteStringTable
    let rules: MergeTable
    /// `[256]`: the token of each single byte (-1 when the vocabulary has none).
    let byteIDs: [Int32]
    /// Each token's output bytes, end to end; `[count + 1]` starts.
    private let outputPool: [UInt8]
    private let outputStarts: [Int32]
    private let splitter: SpecialTokenSplitter

    public var model: String { "gpt2" }
    public var vocabularySize: Int { pieces.count }

    /// Reads `tokenizer.ggml.*` from a GGUF file.
    public init(gguf: GGUFFile) throws(GGUFError) {
        guard let model = gguf.value("tokenizer.ggml.model")?.string else { throw GGUFError("tokenizer.ggml.model is missing") }
        guard model == "gpt2" else { throw GGUFError("tokenizer.ggml.model '\(model)' is not byte-level BPE ('gpt2')") }
        var name = "default"
        if let value = gguf.value("tokenizer.ggml.pre") {
            guard let text = value.string else { throw GGUFError("tokenizer.ggml.pre is not a string") }
            name = text
        }
        guard let preTokenizer = PreTokenizer.named(name) else {
            throw GGUFError("tokenizer.ggml.pre '\(name)' is not supported (supported: \(PreTokenizer.names.joined(separator: ", ")))")
        }
        let vocabulary = try VocabularyMetadata(gguf: gguf, defaults: SpecialTokens(addBOS: preTokenizer.addsBOS), typesRequired: false)
        guard let mergesValue = gguf.value("tokenizer.ggml.merges") else { throw GGUFError("tokenizer.ggml.merges is missing") }
        guard let merges = mergesValue.array?.compactMap(\.string), merges.count == mergesValue.array?.count else {
            throw GGUFError("tokenizer.ggml.merges is not a list of strings")
        }
        try self.init(vocabulary: vocabulary, merges: merges, preTokenizer: preTokenizer, preTokenizerName: name,
                      dropsLeadingSpace: gguf.value("tokenizer.ggml.add_space_prefix")?.bool ?? false)
    }

    private init(vocabulary: VocabularyMetadata, merges: [String], preTokenizer: PreTokenizer, preTokenizerName: String,
                 dropsLeadingSpace: Bool) throws(GGUFError) {
        pieces = vocabulary.pieces
        types = vocabulary.types
        special = vocabulary.special
        self.preTokenizer = preTokenizer
        self.preTokenizerName = preTokenizerName
        self.dropsLeadingSpace = dropsLeadingSpace
        var table = ByteStringTable(capacity: pieces.count)
        var pool: [UInt8] = [], starts: [Int32] = [0]
        for (id, piece) in pieces.enumerated() {
            if !piece.isEmpty, let bytes = ByteLevel.bytes(of: piece) { table.insert(bytes, Int32(id)) }
            pool += Self.outputBytes(piece, vocabulary.types[id])
            starts.append(Int32(pool.count))
        }
        tokensByBytes = table
        outputPool = pool
        outputStarts = starts
        byteIDs = (0..<256).map { table.value([UInt8($0)]) }
        var rules = MergeTable(capacity: merges.count)
        for (rank, merge) in merges.enumerated() {
            let utf8 = Array(merge.utf8)
            guard utf8.count > 1, let space = utf8[1...].firstIndex(of: 0x20) else {
                throw GGUFError("tokenizer.ggml.merges[\(rank)] '\(merge)' is not two tokens separated by a space")
            }
            func id(_ part: ArraySlice<UInt8>) throws(GGUFError) -> ([UInt8], Int32) {
                let text = String(decoding: part, as: UTF8.self)
                guard let bytes = ByteLevel.bytes(of: text), !bytes.isEmpty, case let id = table.value(bytes), id >= 0 else {
                    throw GGUFError("tokenizer.ggml.merges[\(rank)] '\(merge)' names '\(text)', which is not in tokenizer.ggml.tokens")
                }
                return (bytes, id)
            }
            let (leftBytes, left) = try id(utf8[..<space])
            let (rightBytes, right) = try id(utf8[(space + 1)...])
            rules.insert(left: left, right: right, rank: Int32(rank), joined: table.value(leftBytes + rightBytes))
        }
        self.rules = rules
        splitter = SpecialTokenSplitter(pieces: pieces, types: types, rightStripped: vocabulary.rightStripped)
    }

    public func tokenType(_ id: Int) -> TokenType { id >= 0 && id < types.count ? types[id] : .undefined }
    public func piece(_ id: Int) -> String { id >= 0 && id < pieces.count ? pieces[id] : "" }

    public func pieceBytes(_ id: Int) -> [UInt8] {
        guard id >= 0, id < pieces.count else { return [] }
        return Array(outputPool[Int(outputStarts[id])..<Int(outputStarts[id + 1])])
    }

    /// What a token prints, as llama.cpp's token_to_piece gives it without special tokens: a normal token's
    /// alphabet decoded to bytes, a user-defined token's text as is, a byte token `<0xNN>` its byte,
    /// the rest nothing.
    private static func outputBytes(_ piece: String, _ type: TokenType) -> [UInt8] {
        switch type {
        case .normal:
            var bytes: [UInt8] = []
            for scalar in piece.unicodeScalars {
                if scalar.value < 0x144, let byte = ByteLevel.byteOfScalar[Int(scalar.value)] {
                    bytes.append(byte)
                } else {   // outside the alphabet: llama.cpp's marker, which quotes the whole token
                    let hex = String(scalar).utf8.map { ($0 < 16 ? "0" : "") + String($0, radix: 16) }.joined()
                    bytes += Array("[UNK_BYTE_0x\(hex)\(piece)]".utf8)
                }
            }
            return bytes
        case .userDefined:
            return Array(piece.utf8)
        case .byte:
            // strtol over the two characters after `<0x`: the hex digits it finds, else 0.
            let digits = piece.unicodeScalars.dropFirst(3).prefix(2).prefix { $0.properties.isASCIIHexDigit }
            return [UInt8(String(String.UnicodeScalarView(digits)), radix: 16) ?? 0]
        case .control, .unknown, .unused, .undefined:
            return []
        }
    }

    public func encode(_ text: String, addSpecial: Bool, parseSpecial: Bool) -> [Int] {
        encode(text, addSpecial: addSpecial, parseSpecial: parseSpecial, literal: [])
    }

    public func encode(_ text: String, addSpecial: Bool, parseSpecial: Bool, literal: [Range<Int>]) -> [Int] {
        var ids: [Int] = []
        if addSpecial && special.addBOS, let bos = special.bos { ids.append(bos) }
        let utf8 = Array(text.utf8)
        var merger = BytePairMerger(), cache = WordCache()
        for fragment in splitter.split(utf8, parseSpecial: parseSpecial, literal: literal) {
            switch fragment {
            case .token(let id): ids.append(id)
            case .text(let range):
                utf8.withUnsafeBufferPointer {
                    encodeText(UnsafeBufferPointer(rebasing: $0[range]), into: &ids, merger: &merger, cache: &cache)
                }
            }
        }
        if addSpecial && special.addEOS, let eos = special.eos { ids.append(eos) }
        return ids
    }

    /// Pre-tokenizes and merges one text fragment.
    /// - Parameter utf8: `[n]` valid UTF-8.
    private func encodeText(_ utf8: UnsafeBufferPointer<UInt8>, into ids: inout [Int], merger: inout BytePairMerger,
                            cache: inout WordCache) {
        var scalars: [UInt32] = [], classes: [CharacterClass] = [], offsets: [Int32] = []
        scalars.reserveCapacity(utf8.count); classes.reserveCapacity(utf8.count); offsets.reserveCapacity(utf8.count + 1)
        var i = 0
        while i < utf8.count {
            offsets.append(Int32(i))
            let lead = utf8[i]
            var value = UInt32(lead), length = 1
            if lead >= 0xF0 { value = UInt32(lead & 0x07); length = 4 } else if lead >= 0xE0 { value = UInt32(lead & 0x0F); length = 3 }
            else if lead >= 0xC0 { value = UInt32(lead & 0x1F); length = 2 }
            for k in 1..<length { value = value << 6 | UInt32(utf8[i + k] & 0x3F) }
            scalars.append(value)
            classes.append(CharacterClass.of(value))
            i += length
        }
        offsets.append(Int32(utf8.count))
        let ends = scalars.withUnsafeBufferPointer { s in classes.withUnsafeBufferPointer { c in preTokenizer.words(s, c) } }
        byteIDs.withUnsafeBufferPointer { byteIDs in
            var start = 0
            for end in ends {
                let word = UnsafeBufferPointer(rebasing: utf8[Int(offsets[start])..<Int(offsets[Int(end)])])
                start = Int(end)
                if preTokenizer.ignoresMerges || word.count == 1, case let id = tokensByBytes.value(word), id >= 0 {
                    ids.append(Int(id))
                    continue
                }
                if cache.append(word, to: &ids) { continue }
                let first = ids.count
                merger.merge(word, byteIDs: byteIDs, rules: rules, into: &ids) { bytes, output in
                    // llama.cpp looks each byte of the symbol's alphabet string up as a one-byte token.
                    for byte in bytes where ByteLevel.scalarOfByte[Int(byte)] < 0x80 && byteIDs[Int(byte)] >= 0 {
                        output.append(Int(byteIDs[Int(byte)]))
                    }
                }
                cache.insert(word, ids[first...])
            }
        }
    }

    /// Each token's output bytes; the first loses one leading space when the vocabulary sets
    /// `add_space_prefix`, as llama.cpp's detokenize does.
    public func sequenceBytes(_ ids: [Int]) -> [[UInt8]] {
        var pieces = ids.map(pieceBytes)
        if dropsLeadingSpace, pieces.first?.first == UInt8(ascii: " ") { pieces[0].removeFirst() }
        return pieces
    }

    /// The text of `ids` as llama.cpp's detokenize gives it (control tokens dropped): `sequenceBytes`
    /// joined, then — where the pre-tokenizer says so — Hugging Face's clean-up of spaces before
    /// punctuation and contractions (`Hello , world` → `Hello, world`), so such a text does not round-trip.
    public func decode(_ ids: [Int]) -> String {
        let bytes = Array(sequenceBytes(ids).joined())
        return String(decoding: preTokenizer.cleansSpaces ? Self.cleaningSpaces(bytes) : bytes, as: UTF8.self)
    }

    /// llama.cpp's three clean-up passes: drop a space before `?!.,`; `a ' b` → `a'b`; drop the space before
    /// `'s`, `'m`, `'re`, `'ve`.
    static func cleaningSpaces(_ text: [UInt8]) -> [UInt8] {
        let space = UInt8(ascii: " "), quote = UInt8(ascii: "'")
        func pass(_ t: [UInt8], _ body: (inout [UInt8], inout [UInt8], inout Int) -> Void) -> [UInt8] {
            guard !t.isEmpty else { return t }
            var text = t, out = [t[0]], i = 1
            out.reserveCapacity(t.count)
            while i < text.count { body(&text, &out, &i); i += 1 }
            return out
        }
        let punctuation = pass(text) { t, out, i in
            if t[i - 1] == space && [UInt8(ascii: "?"), UInt8(ascii: "!"), UInt8(ascii: "."), UInt8(ascii: ",")].contains(t[i]) {
                out.removeLast()
            }
            out.append(t[i])
        }
        let quotes = pass(punctuation) { t, out, i in
            let x = t[i]
            if x == quote && i + 1 < t.count && t[i - 1] == space && t[i + 1] == space {
                out.removeLast()
                i += 1
                t[i] = 0   // llama.cpp blanks the following space in place; the next character sees it
            }
            out.append(x)
        }
        return pass(quotes) { t, out, i in
            if t[i - 1] == space && t[i] == quote && i + 1 < t.count {
                let a = t[i + 1], b: UInt8 = i + 2 < t.count ? t[i + 2] : 0
                if a == UInt8(ascii: "s") || a == UInt8(ascii: "m") { out.removeLast() }
                else if a != UInt8(ascii: "t") && a != UInt8(ascii: "d") && i + 2 < t.count
                            && ((a == UInt8(ascii: "r") && b == UInt8(ascii: "e")) || (a == UInt8(ascii: "v") && b == UInt8(ascii: "e"))) {
                    out.removeLast()
                }
            }
            out.append(t[i])
        }
    }
}
