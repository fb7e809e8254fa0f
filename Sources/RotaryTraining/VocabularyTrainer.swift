import RotaryModel

/// Learns a SentencePiece-style `llama` vocabulary by byte-pair merging on a training text:
/// `<unk>`, `<s>`, `</s>`, the 256 byte tokens, every character seen at least `minimumCharacterCount`
/// times, then merged pieces scored by merge order (earlier = higher), so llama.cpp's and Rotary's
/// highest-score-first merging replays the learned merges. Words are `▁`-prefixed runs between spaces;
/// merges stay inside a word, as SentencePiece's do.
public enum VocabularyTrainer {
    public static func train(text: String, size: Int, minimumCharacterCount: Int = 10) -> SentencePieceTokenizer {
        // Words with counts, as sequences of character ids.
        // The text as the tokenizer sees it (a space prefix, spaces as ▁), cut into words that start at
        // each ▁; control characters (newlines) stand alone and are left to byte fallback.
        var characterCounts: [Unicode.Scalar: Int] = [:]
        var wordCounts: [String: Int] = [:]
        var word = String.UnicodeScalarView()
        func flush() {
            if !word.isEmpty { wordCounts[String(word), default: 0] += 1 }
            word = String.UnicodeScalarView()
        }
        for scalar in (" " + text).unicodeScalars {
            if scalar == " " { flush(); word.append("\u{2581}") }
            else if scalar.value < 0x20 { flush() }
            else { word.append(scalar) }
        }
        flush()
        for (word, count) in wordCounts { for scalar in word.unicodeScalars { characterCounts[scalar, default: 0] += count } }
        var pieces = ["<unk>", "<s>", "</s>"]
        var types: [TokenType] = [.unknown, .control, .control]
        var scores: [Float] = [0, 0, 0]
        for byte in 0..<256 {
            let hex = String(byte, radix: 16, uppercase: true)
            pieces.append("<0x" + (hex.count == 1 ? "0" : "") + hex + ">")
            types.append(.byte)
            scores.append(0)
        }
        // Base characters, most frequent first (ties by code point, for a deterministic order).
        let characters = characterCounts.filter { $0.value >= minimumCharacterCount }
            .sorted { $0.value != $1.value ? $0.value > $1.value : $0.key.value < $1.key.value }.map(\.key)
        var symbolText: [String] = characters.map { String($0) }
        var symbolOf: [Unicode.Scalar: Int32] = [:]
        for (i, c) in characters.enumerated() { symbolOf[c] = Int32(i) }
        // Unique words as symbol sequences (a word with a rare character keeps it as a barrier: -1).
        var words: [[Int32]] = []
        var counts: [Int] = []
        for (word, count) in wordCounts.sorted(by: { $0.key < $1.key }) {
            words.append(word.unicodeScalars.map { symbolOf[$0] ?? -1 })
            counts.append(count)
        }
        let merges = max(0, size - pieces.count - characters.count)
        var mergedPieces: [String] = []
        for _ in 0..<merges {
            var pairCounts: [UInt64: Int] = [:]
            for (w, symbols) in words.enumerated() where symbols.count > 1 {
                for i in 0..<(symbols.count - 1) where symbols[i] >= 0 && symbols[i + 1] >= 0 {
                    pairCounts[UInt64(UInt32(symbols[i])) << 32 | UInt64(UInt32(symbols[i + 1])), default: 0] += counts[w]
                }
            }
            guard let best = pairCounts.max(by: { $0.value != $1.value ? $0.value < $1.value : $0.key > $1.key }),
                  best.value >= 2 else { break }
            let (a, b) = (Int32(truncatingIfNeeded: best.key >> 32), Int32(truncatingIfNeeded: best.key & 0xffff_ffff))
            let merged = Int32(symbolText.count)
            symbolText.append(symbolText[Int(a)] + symbolText[Int(b)])
            mergedPieces.append(symbolText[Int(merged)])
            for w in words.indices where words[w].count > 1 {
                var out: [Int32] = []
                out.reserveCapacity(words[w].count)
                var i = 0
                let symbols = words[w]
                while i < symbols.count {
                    if i + 1 < symbols.count && symbols[i] == a && symbols[i + 1] == b { out.append(merged); i += 2 } else { out.append(symbols[i]); i += 1 }
                }
                words[w] = out
            }
        }
        for (i, c) in characters.enumerated() {
            pieces.append(String(c))
            types.append(.normal)
            scores.append(-1_000_000 - Float(i))
        }
        var seen = Set(pieces)
        for (rank, piece) in mergedPieces.enumerated() where seen.insert(piece).inserted {
            pieces.append(piece)
            types.append(.normal)
            scores.append(-Float(rank))
        }
        return SentencePieceTokenizer(pieces: pieces, scores: scores, types: types, bosID: 1, eosID: 2, unknownID: 0)
    }
}
