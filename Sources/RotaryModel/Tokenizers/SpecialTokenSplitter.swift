/// Cuts the special tokens written in a text out of it before the algorithm runs, as llama.cpp does:
/// the longest special token first, each splitting every text fragment left so far at all its
/// occurrences. User-defined tokens are always cut out; control and unknown tokens only when asked.
struct SpecialTokenSplitter: Sendable {
    enum Fragment: Equatable {
        /// A byte range of the text's UTF-8.
        case text(Range<Int>)
        case token(Int)
    }

    private struct Special: Sendable {
        let id: Int
        let bytes: [UInt8]
        /// Control and unknown tokens are cut out only when the caller parses special tokens.
        let onlyWhenParsing: Bool
        /// Whitespace after the token is dropped.
        let stripsRight: Bool
    }

    /// Longest first; equal lengths by id.
    private let specials: [Special]
    private let alwaysCut: Bool

    init(pieces: [String], types: [TokenType], rightStripped: Set<Int>) {
        var list: [Special] = []
        for (id, type) in types.enumerated() where type == .control || type == .userDefined || type == .unknown {
            let bytes = Array(pieces[id].utf8)
            guard !bytes.isEmpty else { continue }
            list.append(Special(id: id, bytes: bytes, onlyWhenParsing: type != .userDefined, stripsRight: rightStripped.contains(id)))
        }
        specials = list.sorted { ($0.bytes.count, $1.id) > ($1.bytes.count, $0.id) }
        alwaysCut = list.contains { !$0.onlyWhenParsing }
    }

    /// The text as fragments, in order.
    /// - Parameters:
    ///   - utf8: `[n]` the text's bytes.
    ///   - literal: byte ranges where control tokens are not read even when parsing (a chat message's own
    ///     text inside a formatted prompt: a user typing `<|im_end|>` does not end the turn). User-defined
    ///     tokens are cut there too, as everywhere.
    func split(_ utf8: [UInt8], parseSpecial: Bool, literal: [Range<Int>] = []) -> [Fragment] {
        guard !utf8.isEmpty else { return [] }
        guard alwaysCut || parseSpecial else { return [.text(0..<utf8.count)] }
        var present = [Bool](repeating: false, count: 256)   // a token whose first byte is absent cannot occur
        for byte in utf8 { present[Int(byte)] = true }
        var fragments: [Fragment] = [.text(0..<utf8.count)]
        utf8.withUnsafeBufferPointer { text in
            for special in specials where (parseSpecial || !special.onlyWhenParsing) && present[Int(special.bytes[0])] {
                var next: [Fragment] = []
                next.reserveCapacity(fragments.count)
                for fragment in fragments {
                    guard case .text(let range) = fragment else { next.append(fragment); continue }
                    cut(special, from: range, in: text, literal: special.onlyWhenParsing ? literal : [], into: &next)
                }
                fragments = next
            }
        }
        return fragments
    }

    private func cut(_ special: Special, from range: Range<Int>, in text: UnsafeBufferPointer<UInt8>, literal: [Range<Int>],
                     into out: inout [Fragment]) {
        var start = range.lowerBound
        var searchFrom = start
        while let match = find(special.bytes, in: text, from: searchFrom, to: range.upperBound) {
            let span = match..<(match + special.bytes.count)
            if literal.contains(where: { $0.overlaps(span) }) {
                searchFrom = match + 1   // written by the user: text, not a token
                continue
            }
            if match > start { out.append(.text(start..<match)) }
            out.append(.token(special.id))
            start = match + special.bytes.count
            if special.stripsRight { while start < range.upperBound && Self.isSpace(text[start]) { start += 1 } }
            searchFrom = start
        }
        if start < range.upperBound { out.append(.text(start..<range.upperBound)) }
    }

    /// The first occurrence of `needle` in `text[from..<to]`.
    private func find(_ needle: [UInt8], in text: UnsafeBufferPointer<UInt8>, from: Int, to: Int) -> Int? {
        let first = needle[0], last = to - needle.count
        guard from <= last else { return nil }
        var i = from
        while i <= last {
            if text[i] == first {
                var k = 1
                while k < needle.count && text[i + k] == needle[k] { k += 1 }
                if k == needle.count { return i }
            }
            i += 1
        }
        return nil
    }

    /// C's `isspace` in the C locale: what llama.cpp strips.
    static func isSpace(_ byte: UInt8) -> Bool { byte == 0x20 || (0x09...0x0D).contains(byte) }
}
