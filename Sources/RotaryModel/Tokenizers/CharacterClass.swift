/// The Unicode classes llama.cpp's pre-tokenizers test (`\p{L}`, `\p{N}`, `\p{P}`, `\s`, …), from Swift's
/// own Unicode data. llama.cpp's tables are Unicode 15.1: a scalar assigned later is unassigned there, so
/// it is here too, and both split text alike.
struct CharacterClass: OptionSet, Sendable {
    let rawValue: UInt16

    static let undefined = CharacterClass(rawValue: 1 << 0)
    static let number = CharacterClass(rawValue: 1 << 1)
    static let letter = CharacterClass(rawValue: 1 << 2)
    static let separator = CharacterClass(rawValue: 1 << 3)
    static let mark = CharacterClass(rawValue: 1 << 4)
    static let punctuation = CharacterClass(rawValue: 1 << 5)
    static let symbol = CharacterClass(rawValue: 1 << 6)
    static let control = CharacterClass(rawValue: 1 << 7)
    /// Unicode's White_Space (what `\s` matches in llama.cpp); alongside one of the categories above.
    static let whitespace = CharacterClass(rawValue: 1 << 8)

    /// Not `\s`, `\p{L}` or `\p{N}`: what `[^\s\p{L}\p{N}]` matches.
    var isOther: Bool { isDisjoint(with: [.whitespace, .letter, .number]) }

    private static let ascii: [CharacterClass] = (0..<128).map { classify(UInt32($0)) }

    static func of(_ scalar: UInt32) -> CharacterClass {
        scalar < 128 ? ascii[Int(scalar)] : classify(scalar)
    }

    private static func classify(_ value: UInt32) -> CharacterClass {
        guard let scalar = Unicode.Scalar(value) else { return .control }   // surrogates (not in Swift strings)
        let properties = scalar.properties
        let whitespace: CharacterClass = properties.isWhitespace ? .whitespace : []
        guard let age = properties.age, age.major < 15 || (age.major == 15 && age.minor <= 1) else {
            return [.undefined, whitespace]
        }
        let category: CharacterClass
        switch properties.generalCategory {
        case .uppercaseLetter, .lowercaseLetter, .titlecaseLetter, .modifierLetter, .otherLetter: category = .letter
        case .decimalNumber, .letterNumber, .otherNumber: category = .number
        case .spaceSeparator, .lineSeparator, .paragraphSeparator: category = .separator
        case .nonspacingMark, .spacingMark, .enclosingMark: category = .mark
        case .connectorPunctuation, .dashPunctuation, .openPunctuation, .closePunctuation, .initialPunctuation,
             .finalPunctuation, .otherPunctuation: category = .punctuation
        case .mathSymbol, .currencySymbol, .modifierSymbol, .otherSymbol: category = .symbol
        case .control, .format, .surrogate, .privateUse: category = .control
        case .unassigned: category = .undefined
        @unknown default: category = .undefined
        }
        return [category, whitespace]
    }
}

/// GPT-2's byte-level alphabet: every byte stands for one printable code point, so any byte string is
/// a string of vocabulary characters. Printable Latin-1 bytes stand for themselves; the others (controls,
/// space, DEL, NBSP, soft hyphen) for U+0100 onwards, in byte order.
enum ByteLevel {
    /// `[256]`: the code point each byte stands for.
    static let scalarOfByte: [UInt32] = {
        var scalars = [UInt32](repeating: 0, count: 256)
        var next: UInt32 = 0x100
        for byte in 0..<256 {
            if (0x21...0x7E).contains(byte) || (0xA1...0xAC).contains(byte) || (0xAE...0xFF).contains(byte) {
                scalars[byte] = UInt32(byte)
            } else {
                scalars[byte] = next
                next += 1
            }
        }
        return scalars
    }()

    /// `[0x144]`: the byte each code point of the alphabet stands for (nil outside it).
    static let byteOfScalar: [UInt8?] = {
        var bytes = [UInt8?](repeating: nil, count: 0x144)
        for (byte, scalar) in scalarOfByte.enumerated() { bytes[Int(scalar)] = UInt8(byte) }
        return bytes
    }()

    /// The bytes a vocabulary string stands for; nil when a character is outside the alphabet.
    static func bytes(of text: String) -> [UInt8]? {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(text.utf8.count)
        for scalar in text.unicodeScalars {
            guard scalar.value < 0x144, let byte = byteOfScalar[Int(scalar.value)] else { return nil }
            bytes.append(byte)
        }
        return bytes
    }
}
