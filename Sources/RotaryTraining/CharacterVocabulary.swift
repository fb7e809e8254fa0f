import RotaryModel

/// The default vocabulary of `rotary train`: SentencePiece `llama` style, so llama.cpp reads the models
/// it writes — `<unk>`, `<s>`, `</s>`, the 256 byte tokens `<0x00>`…`<0xFF>`, then `▁` and the printable
/// ASCII characters as pieces. Every other character falls back to its UTF-8 bytes.
public enum CharacterVocabulary {
    public static func make() -> (pieces: [String], scores: [Float], types: [TokenType]) {
        var pieces = ["<unk>", "<s>", "</s>"]
        var types: [TokenType] = [.unknown, .control, .control]
        for byte in 0..<256 {
            let hex = String(byte, radix: 16, uppercase: true)
            pieces.append("<0x" + (hex.count == 1 ? "0" : "") + hex + ">")
            types.append(.byte)
        }
        pieces.append("\u{2581}")
        types.append(.normal)
        for scalar in 0x21...0x7E {
            pieces.append(String(Character(Unicode.Scalar(UInt8(scalar)))))
            types.append(.normal)
        }
        let scores = pieces.indices.map { types[$0] == .normal ? -Float($0) : 0 }
        return (pieces, scores, types)
    }

    public static func tokenizer() -> SentencePieceTokenizer {
        let v = make()
        return SentencePieceTokenizer(pieces: v.pieces, scores: v.scores, types: v.types, bosID: 1, eosID: 2, unknownID: 0)
    }
}
