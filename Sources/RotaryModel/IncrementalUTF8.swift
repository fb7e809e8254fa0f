/// UTF-8 text from bytes that arrive a token at a time: each `append` returns the characters its bytes
/// complete, and a character split across tokens comes out whole with the token that ends it. The work
/// per call is that call's bytes, not everything decoded so far.
public struct IncrementalUTF8: Sendable {
    /// Bytes of a character still waiting for its last byte (at most 3).
    private var pending: [UInt8] = []

    public init() {}

    /// The characters that `bytes` complete (invalid sequences as U+FFFD, as `String(decoding:)` gives).
    public mutating func append(_ bytes: [UInt8]) -> String {
        guard !bytes.isEmpty else { return "" }
        pending += bytes
        let complete = Self.completeLength(pending)
        let text = String(decoding: pending[..<complete], as: UTF8.self)
        pending.removeFirst(complete)
        return text
    }

    /// What is left at the end: a truncated character decodes to U+FFFD.
    public mutating func finish() -> String {
        defer { pending.removeAll() }
        return pending.isEmpty ? "" : String(decoding: pending, as: UTF8.self)
    }

    /// Each piece's text when `pieces` are decoded in order: a character split across pieces belongs to the
    /// piece that completes it, and a truncated last character (U+FFFD) to the last piece. The texts
    /// concatenate to `String(decoding: pieces.joined(), as: UTF8.self)`.
    /// - Parameter pieces: `[count]` byte strings, in order.
    public static func texts(of pieces: [[UInt8]]) -> [String] {
        var decoder = IncrementalUTF8()
        var texts = pieces.map { decoder.append($0) }
        if !texts.isEmpty { texts[texts.count - 1] += decoder.finish() }
        return texts
    }

    /// Bytes of `bytes` up to the start of a last character that is still missing bytes.
    static func completeLength(_ bytes: [UInt8]) -> Int {
        for back in 1...min(3, bytes.count) {
            let byte = bytes[bytes.count - back]
            guard byte & 0xC0 == 0x80 else {
                let needed = byte >= 0xF0 ? 4 : byte >= 0xE0 ? 3 : byte >= 0xC0 ? 2 : 1
                return back < needed ? bytes.count - back : bytes.count
            }
        }
        return bytes.count
    }
}
