/// One split of a pre-tokenizer, written as a scanner over code points: the regex it stands for (as
/// llama.cpp runs it) finds its leftmost match, the text before it becomes a piece of its own, and the
/// scan goes on after the match. `\s` is Unicode White_Space; `\p{L}`, `\p{N}`, `\p{P}` the categories.
enum SplitStep: Sendable {
    /// GPT-2's `'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+`.
    case gpt2
    /// Llama 3's `(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+`;
    /// Qwen2's is the same with `\p{N}` for `\p{N}{1,3}` (a digit group of 1).
    case llama3(digitGroup: Int)
    /// `X`: each scalar of the set alone.
    case each(ScalarSet)
    /// `X+`.
    case runs(ScalarSet)
    /// `\s?X+`.
    case optionalSpaceThenRuns(ScalarSet)
    /// `[0-9][0-9][0-9]`.
    case asciiDigitTriples
    /// `\s+$`: the whitespace that ends the piece.
    case trailingWhitespace

    /// Appends the ends of the pieces `range` splits into.
    func split(_ text: ScannedText, _ range: Range<Int>, into ends: inout [Int32]) {
        switch self {
        case .gpt2:
            var p = range.lowerBound
            while p < range.upperBound {
                p += Self.gpt2Match(text, p, range.upperBound)
                ends.append(Int32(p))
            }
        case .llama3(let group):
            var p = range.lowerBound
            while p < range.upperBound {
                p += Self.llama3Match(text, p, range.upperBound, digitGroup: group)
                ends.append(Int32(p))
            }
        case .trailingWhitespace:
            var start = range.upperBound
            while start > range.lowerBound && text.classes[start - 1].contains(.whitespace) { start -= 1 }
            if start > range.lowerBound && start < range.upperBound { ends.append(Int32(start)) }
            ends.append(Int32(range.upperBound))
        default:
            var p = range.lowerBound, gap = range.lowerBound
            while p < range.upperBound {
                let length = match(text, p, range.upperBound)
                guard length > 0 else { p += 1; continue }
                if p > gap { ends.append(Int32(p)) }
                p += length
                ends.append(Int32(p))
                gap = p
            }
            if gap < range.upperBound { ends.append(Int32(range.upperBound)) }
        }
    }

    /// The length of this step's match at `p` (0: none), for the steps that may leave text between matches.
    private func match(_ text: ScannedText, _ p: Int, _ end: Int) -> Int {
        func run(of set: ScalarSet, from start: Int) -> Int {
            var q = start
            while q < end && set.contains(text.scalars[q], text.classes[q]) { q += 1 }
            return q - start
        }
        switch self {
        case .each(let set):
            return set.contains(text.scalars[p], text.classes[p]) ? 1 : 0
        case .runs(let set):
            return run(of: set, from: p)
        case .optionalSpaceThenRuns(let set):
            if text.classes[p].contains(.whitespace) && p + 1 < end, case let letters = run(of: set, from: p + 1), letters > 0 {
                return 1 + letters
            }
            return run(of: set, from: p)
        case .asciiDigitTriples:
            guard p + 3 <= end else { return 0 }
            return (p..<p + 3).allSatisfy { (0x30...0x39).contains(text.scalars[$0]) } ? 3 : 0
        case .gpt2, .llama3, .trailingWhitespace:
            return 0
        }
    }

    /// `'s|'t|'re|'ve|'m|'ll|'d` at `p` (ASCII letters; any case when `anyCase`): its length, or 0.
    @inline(__always) private static func contraction(_ s: UnsafeBufferPointer<UInt32>, _ p: Int, _ end: Int, anyCase: Bool) -> Int {
        guard s[p] == 0x27, p + 1 < end else { return 0 }   // '
        func lower(_ c: UInt32) -> UInt32 { anyCase && (0x41...0x5A).contains(c) ? c + 0x20 : c }
        let a = lower(s[p + 1])
        if a == 0x73 || a == 0x74 || a == 0x6D || a == 0x64 { return 2 }   // s t m d
        guard p + 2 < end else { return 0 }
        let b = lower(s[p + 2])
        if (a == 0x72 && b == 0x65) || (a == 0x76 && b == 0x65) || (a == 0x6C && b == 0x6C) { return 3 }   // re ve ll
        return 0
    }

    /// `\s+(?!\S)|\s+` at `p`: all the whitespace, less the last one when a non-space follows it.
    @inline(__always) private static func whitespaceRun(_ c: UnsafeBufferPointer<CharacterClass>, _ p: Int, _ end: Int) -> Int {
        var q = p
        while q < end && c[q].contains(.whitespace) { q += 1 }
        let count = q - p
        return count > 1 && q < end ? count - 1 : max(count, 1)
    }

    /// The length of GPT-2's match at `p`.
    static func gpt2Match(_ text: ScannedText, _ p: Int, _ end: Int) -> Int {
        let s = text.scalars, c = text.classes
        let quote = contraction(s, p, end, anyCase: false)
        if quote > 0 { return quote }
        // ` ?X+` for X in letters, numbers, others: the optional space, then the run of the class after it.
        let start = s[p] == 0x20 && p + 1 < end ? p + 1 : p
        if start < end {
            let first = c[start]
            let kind: CharacterClass? = first.contains(.letter) ? .letter : first.contains(.number) ? .number : first.isOther ? [] : nil
            if let kind {   // [] stands for the others
                var q = start + 1
                if kind.isEmpty {
                    while q < end && c[q].isOther { q += 1 }
                } else {
                    while q < end && c[q].contains(kind) { q += 1 }
                }
                return q - p
            }
        }
        return whitespaceRun(c, p, end)
    }

    /// The length of Llama 3's (or Qwen2's) match at `p`.
    static func llama3Match(_ text: ScannedText, _ p: Int, _ end: Int, digitGroup: Int) -> Int {
        let s = text.scalars, c = text.classes
        let quote = contraction(s, p, end, anyCase: true)
        if quote > 0 { return quote }
        let here = c[p], isNewline = s[p] == 0x0A || s[p] == 0x0D
        // `[^\r\n\p{L}\p{N}]?\p{L}+`
        if !isNewline && !here.contains(.number) && (here.contains(.letter) || (p + 1 < end && c[p + 1].contains(.letter))) {
            var q = p + 1
            while q < end && c[q].contains(.letter) { q += 1 }
            return q - p
        }
        // `\p{N}{1,3}`
        if here.contains(.number) {
            var q = p + 1
            while q < end && q - p < digitGroup && c[q].contains(.number) { q += 1 }
            return q - p
        }
        // ` ?[^\s\p{L}\p{N}]+[\r\n]*`
        let start = s[p] == 0x20 && p + 1 < end ? p + 1 : p
        if c[start].isOther {
            var q = start + 1
            while q < end && c[q].isOther { q += 1 }
            while q < end && (s[q] == 0x0A || s[q] == 0x0D) { q += 1 }
            return q - p
        }
        // `\s*[\r\n]+`: the whitespace up to its last line break.
        var q = p, lastBreak = -1
        while q < end && c[q].contains(.whitespace) {
            if s[q] == 0x0A || s[q] == 0x0D { lastBreak = q }
            q += 1
        }
        if lastBreak >= 0 { return lastBreak + 1 - p }
        return whitespaceRun(c, p, end)
    }
}

/// The scalars a split step's character class matches: some categories (as llama.cpp's `\p{…}` reads
/// them), some ASCII characters, and literal code point ranges. A literal range never matches non-ASCII
/// whitespace: llama.cpp turns that into a vertical tab before such a regex runs.
struct ScalarSet: Sendable {
    var classes: CharacterClass = []
    var ascii: Set<UInt32> = []
    /// Sorted, not overlapping.
    var ranges: [ClosedRange<UInt32>] = []

    func contains(_ scalar: UInt32, _ characterClass: CharacterClass) -> Bool {
        if !classes.isDisjoint(with: characterClass) { return true }
        if scalar < 128 { if ascii.contains(scalar) { return true } }
        guard !ranges.isEmpty, scalar < 128 || !characterClass.contains(.whitespace) else { return false }
        var low = 0, high = ranges.count - 1
        while low <= high {
            let mid = (low + high) / 2
            if scalar < ranges[mid].lowerBound { high = mid - 1 } else if scalar > ranges[mid].upperBound { low = mid + 1 } else { return true }
        }
        return false
    }

    static let numbers = ScalarSet(classes: .number)
    static let letters = ScalarSet(classes: .letter)
    static let punctuation = ScalarSet(classes: .punctuation)
    static let newlines = ScalarSet(ascii: [0x0A, 0x0D])
    static func punctuationOr(_ characters: String) -> ScalarSet {
        ScalarSet(classes: .punctuation, ascii: Set(characters.unicodeScalars.map(\.value)))
    }
    /// `[一-龥ࠀ-一가-퟿]`.
    static let chineseAndKorean = ScalarSet(ranges: [0x800...0x9FA5, 0xAC00...0xD7FF])
    /// DeepSeek LLM's letters: Latin, Greek, Cyrillic, Armenian, Georgian, Cherokee and more, by range.
    static let deepSeekLetters = ScalarSet(ranges: [
        0x41...0x5A, 0x61...0x7A, 0xB5...0xB5, 0xC0...0xD6, 0xD8...0xF6, 0xF8...0x1BA, 0x1BC...0x1BF, 0x1C4...0x293,
        0x295...0x2AF, 0x370...0x373, 0x376...0x377, 0x37B...0x37D, 0x37F...0x37F, 0x386...0x386, 0x388...0x38A,
        0x38C...0x38C, 0x38E...0x3A1, 0x3A3...0x3F5, 0x3F7...0x481, 0x48A...0x52F, 0x531...0x556, 0x10A0...0x10C5,
        0x13A0...0x13F5, 0x13F8...0x13FD, 0x1C90...0x1CBA, 0x1CBD...0x1CBF, 0x1D00...0x1D2B, 0x1D6B...0x1D77,
        0x1D79...0x1D9A, 0x1E00...0x1F15, 0x1F18...0x1F1D, 0x1F20...0x1F45, 0x1F48...0x1F4D, 0x1F50...0x1F57,
        0x1F59...0x1F59, 0x1F5B...0x1F5B, 0x1F5D...0x1F5D, 0x1F5F...0x1F7D, 0x1F80...0x1FB4, 0x1FB6...0x1FBC,
        0x1FBE...0x1FBE, 0x1FC2...0x1FC4, 0x1FC6...0x1FCC, 0x1FD0...0x1FD3, 0x1FD6...0x1FDB, 0x1FE0...0x1FEC,
        0x1FF2...0x1FF4, 0x1FF6...0x1FFC, 0x2102...0x2102, 0x2107...0x2107, 0x210A...0x2113, 0x2115...0x2115,
        0x2119...0x211D, 0x2124...0x2124, 0x2126...0x2126, 0x2128...0x2128, 0x212A...0x212D, 0x212F...0x2134,
        0x2139...0x2139, 0x213C...0x213F, 0x2145...0x2149, 0x214E...0x214E, 0x2183...0x2184, 0x2C00...0x2C7B,
        0x2C7E...0x2CE4, 0x2CEB...0x2CEE, 0x2CF2...0x2CF3, 0xA640...0xA66D, 0xA680...0xA69B, 0xA722...0xA76F,
        0xA771...0xA787, 0xA78B...0xA78E, 0xAB70...0xABBF, 0xFB00...0xFB06, 0xFB13...0xFB17, 0xFF21...0xFF3A,
        0xFF41...0xFF5A, 0x10400...0x1044F, 0x104B0...0x104D3, 0x104D8...0x104FB, 0x10C80...0x10CB2, 0x10CC0...0x10CF2,
        0x118A0...0x118DF, 0x1E900...0x1E943,
    ])
    /// DeepSeek LLM's punctuation: ASCII's, full-width forms, curly quotes, `、` and `。`.
    static let deepSeekPunctuation = ScalarSet(ranges: [0x21...0x2F, 0x3A...0x7E, 0x2018...0x201F, 0x3000...0x3002,
                                                        0xFF01...0xFF0F, 0xFF1A...0xFF5E])
}
