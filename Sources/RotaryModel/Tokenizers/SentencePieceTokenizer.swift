/// llama.cpp's SentencePiece-style ("llama" / SPM) tokenizer, from GGUF metadata: highest-score
/// pair merges over code points, `▁` for spaces, an added space prefix, byte fallback `<0xNN>`.
public struct SentencePieceTokenizer: Tokenizer {
    public let pieces: [String]
    public let scores: [Float]
    public let types: [TokenType]
    public let special: SpecialTokens
    public let addSpacePrefix: Bool
    /// Token ids by their UTF-8 bytes, every type (llama.cpp compares bytes: `;` and U+037E differ).
    private let idsByBytes: ByteStringTable
    /// Token id of each byte's `<0xNN>` piece (nil when the vocabulary lacks it).
    private let byteIDs: [Int?]
    private let splitter: SpecialTokenSplitter

    public var model: String { "llama" }
    public var vocabularySize: Int { pieces.count }

    public init(pieces: [String], scores: [Float], types: [TokenType], bosID: Int?, eosID: Int?, unknownID: Int,
                addBOS: Bool = true, addSpacePrefix: Bool = true) {
        var special = SpecialTokens(bos: bosID, eos: eosID, unknown: unknownID, addBOS: addBOS)
        special.endOfGeneration = Set(pieces.indices.filter { VocabularyMetadata.endOfGenerationTexts.contains(pieces[$0]) }
                                      + [eosID].compactMap { $0 })
        self.init(pieces: pieces, scores: scores, types: types, special: special, addSpacePrefix: addSpacePrefix, rightStripped: [])
    }

    private init(pieces: [String], scores: [Float], types: [TokenType], special: SpecialTokens, addSpacePrefix: Bool,
                 rightStripped: Set<Int>) {
        self.pieces = pieces
        self.scores = scores
        self.types = types
        self.special = special
        self.addSpacePrefix = addSpacePrefix
        var table = ByteStringTable(capacity: pieces.count)
        var bytes = [Int?](repeating: nil, count: 256)
        for (id, piece) in pieces.enumerated() {
            if types[id] == .byte, piece.count == 6, piece.hasPrefix("<0x"), let value = UInt8(piece.dropFirst(3).prefix(2), radix: 16) {
                bytes[Int(value)] = id
            }
            if !piece.isEmpty { table.insert(Array(piece.utf8), Int32(id)) }
        }
        idsByBytes = table
        byteIDs = bytes
        splitter = SpecialTokenSplitter(pieces: pieces, types: types, rightStripped: rightStripped)
    }

    /// Reads `tokenizer.ggml.*` from a GGUF file.
    public init(gguf: GGUFFile) throws(GGUFError) {
        guard let model = gguf.value("tokenizer.ggml.model")?.string else { throw GGUFError("tokenizer.ggml.model is missing") }
        guard model == "llama" else { throw GGUFError("tokenizer.ggml.model '\(model)' is not SentencePiece ('llama')") }
        let vocabulary = try VocabularyMetadata(gguf: gguf, defaults: SpecialTokens(bos: 1, eos: 2, unknown: 0, addBOS: true),
                                                typesRequired: true)
        let scores = gguf.value("tokenizer.ggml.scores")?.array?.compactMap { $0.double.map(Float.init) } ?? []
        guard scores.count == vocabulary.pieces.count else {
            throw GGUFError("tokenizer.ggml.scores has \(scores.count) entries for \(vocabulary.pieces.count) tokens")
        }
        var special = vocabulary.special
        if special.unknown == nil { special.unknown = 0 }
        self.init(pieces: vocabulary.pieces, scores: scores, types: vocabulary.types, special: special,
                  addSpacePrefix: gguf.value("tokenizer.ggml.add_space_prefix")?.bool ?? true,
                  rightStripped: vocabulary.rightStripped)
    }

    public func tokenType(_ id: Int) -> TokenType { id >= 0 && id < types.count ? types[id] : .undefined }
    public func piece(_ id: Int) -> String { id >= 0 && id < pieces.count ? pieces[id] : "" }

    /// Token ids for `text`. Each text fragment that starts the text or follows a special token gets the
    /// space prefix, as llama.cpp does.
    public func encode(_ text: String, addSpecial: Bool, parseSpecial: Bool) -> [Int] {
        encode(text, addSpecial: addSpecial, parseSpecial: parseSpecial, literal: [])
    }

    public func encode(_ text: String, addSpecial: Bool, parseSpecial: Bool, literal: [Range<Int>]) -> [Int] {
        var ids: [Int] = []
        if addSpecial && special.addBOS, let bos = special.bos { ids.append(bos) }
        let utf8 = Array(text.utf8)
        var afterSpecial = true
        for fragment in splitter.split(utf8, parseSpecial: parseSpecial, literal: literal) {
            switch fragment {
            case .token(let id):
                ids.append(id)
                afterSpecial = true
            case .text(let range):
                var prepared: [UInt8] = addSpacePrefix && afterSpecial ? Self.spaceMarker : []
                prepared.reserveCapacity(range.count + 3)
                for byte in utf8[range] { if byte == UInt8(ascii: " ") { prepared += Self.spaceMarker } else { prepared.append(byte) } }
                prepared.withUnsafeBufferPointer { mergeSymbols($0, into: &ids) }
                afterSpecial = false
            }
        }
        if addSpecial && special.addEOS, let eos = special.eos { ids.append(eos) }
        return ids
    }

    /// `▁` (U+2581), SentencePiece's space, in UTF-8.
    private static let spaceMarker: [UInt8] = [0xE2, 0x96, 0x81]

    /// A doubly linked list of symbols (UTF-8 characters to start with) and a max-heap of adjacent pairs
    /// that form a piece, merged highest score first (leftmost on ties), as llama.cpp does.
    /// - Parameter text: `[n]` the fragment's bytes with spaces as `▁`, n ≥ 1.
    private func mergeSymbols(_ text: UnsafeBufferPointer<UInt8>, into ids: inout [Int]) {
        var starts: [Int] = [], lengths: [Int] = []
        var offset = 0
        while offset < text.count {
            let lead = text[offset]
            let length = min(lead >= 0xF0 ? 4 : lead >= 0xE0 ? 3 : lead >= 0xC0 ? 2 : 1, text.count - offset)
            starts.append(offset)
            lengths.append(length)
            offset += length
        }
        let count = starts.count
        var previous = Array(-1..<(count - 1))
        var next = Array(1...count).map { $0 == count ? -1 : $0 }
        var heap = PairHeap()
        func id(_ start: Int, _ length: Int) -> Int32 { idsByBytes.value(UnsafeBufferPointer(rebasing: text[start..<start + length])) }
        func consider(_ left: Int) {
            guard left >= 0 else { return }
            let right = next[left]
            guard right >= 0 else { return }
            let length = lengths[left] + lengths[right], token = id(starts[left], length)
            guard token >= 0 else { return }
            heap.push(.init(score: scores[Int(token)], left: Int32(left), right: Int32(right), length: Int32(length)))
        }
        for i in 0..<(count - 1) { consider(i) }
        while let pair = heap.pop() {
            let left = Int(pair.left), right = Int(pair.right)
            // Stale entries: a side was merged away or changed since the pair was queued.
            guard lengths[left] > 0, lengths[right] > 0, lengths[left] + lengths[right] == Int(pair.length) else { continue }
            lengths[left] = Int(pair.length)
            lengths[right] = 0
            next[left] = next[right]
            if next[left] >= 0 { previous[next[left]] = left }
            consider(previous[left])
            consider(left)
        }
        var index = 0
        while index >= 0 {
            let token = id(starts[index], lengths[index])
            if token >= 0 {
                ids.append(Int(token))
            } else {
                for byte in text[starts[index]..<starts[index] + lengths[index]] { ids.append(byteIDs[Int(byte)] ?? special.unknown ?? 0) }
            }
            index = next[index]
        }
    }

    /// The text of `ids` read as the start of a sequence: `▁` back to spaces, byte tokens reassembled into
    /// UTF-8 (invalid sequences become U+FFFD), control tokens (BOS, EOS) dropped, and — when this tokenizer
    /// adds a space prefix — the first text's leading space dropped, since `encode` put it there (as
    /// llama.cpp and Hugging Face decode). So `decode(encode(s, addSpecial: any)) == s`.
    public func decode(_ ids: [Int]) -> String {
        String(decoding: sequenceBytes(ids).joined(), as: UTF8.self)
    }

    /// Each token's bytes with `ids` read as the start of a sequence: `pieceBytes`, except that the first
    /// token with any bytes loses the leading space the space prefix added.
    /// - Returns: `[ids.count]` byte strings; their concatenation is the bytes of `decode(ids)`.
    public func sequenceBytes(_ ids: [Int]) -> [[UInt8]] {
        var pieces = ids.map(pieceBytes)
        if addSpacePrefix, let first = pieces.firstIndex(where: { !$0.isEmpty }), pieces[first][0] == UInt8(ascii: " ") {
            pieces[first].removeFirst()
        }
        return pieces
    }

    /// The bytes one token stands for (a byte token is one byte, possibly part of a character).
    public func pieceBytes(_ id: Int) -> [UInt8] {
        guard id >= 0, id < pieces.count else { return [] }
        switch types[id] {
        case .control, .unused: return []
        case .byte:
            return UInt8(pieces[id].dropFirst(3).prefix(2), radix: 16).map { [$0] } ?? []
        default:
            return Array(pieces[id].replacingSpaceMarkers().utf8)
        }
    }
}

private struct PairHeap {
    /// 16 bytes: the heap of a long text is large, and its moves are memory-bound.
    struct Pair { var score: Float; var left: Int32; var right: Int32; var length: Int32 }
    private var items: [Pair] = []

    /// Higher score first; on equal scores the leftmost pair.
    private func before(_ a: Pair, _ b: Pair) -> Bool { a.score > b.score || (a.score == b.score && a.left < b.left) }

    mutating func push(_ pair: Pair) {
        items.append(pair)
        var child = items.count - 1
        while child > 0 {
            let parent = (child - 1) / 2
            guard before(items[child], items[parent]) else { break }
            items.swapAt(child, parent)
            child = parent
        }
    }

    mutating func pop() -> Pair? {
        guard !items.isEmpty else { return nil }
        items.swapAt(0, items.count - 1)
        let top = items.removeLast()
        var parent = 0
        while true {
            let left = 2 * parent + 1, right = left + 1
            var best = parent
            if left < items.count && before(items[left], items[best]) { best = left }
            if right < items.count && before(items[right], items[best]) { best = right }
            if best == parent { break }
            items.swapAt(parent, best)
            parent = best
        }
        return top
    }
}

extension String {
    /// Every `▁` back to a space.
    func replacingSpaceMarkers() -> String {
        String(String.UnicodeScalarView(unicodeScalars.map { $0 == "\u{2581}" ? " " : $0 }))
    }
}
