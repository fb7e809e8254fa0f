/// The tokens inside a tag: names, numbers, strings (Python escapes), operators.
enum ExpressionToken: Equatable {
    case name(String)
    case integer(Int)
    case float(Double)
    case string(String)
    case symbol(String)
}

enum ExpressionTokenizer {
    static let symbols = ["//", "**", "==", "!=", "<=", ">=", "+", "-", "*", "/", "%", "~", "<", ">", "=", "(", ")",
                          "[", "]", "{", "}", ",", ".", ":", "|"]

    static func tokens(_ source: String, line: Int) throws(TemplateError) -> [ExpressionToken] {
        let s = Array(source.unicodeScalars)
        var out: [ExpressionToken] = []
        var i = 0
        func isNameStart(_ c: Unicode.Scalar) -> Bool { c == "_" || c.properties.isAlphabetic }
        func isNamePart(_ c: Unicode.Scalar) -> Bool { isNameStart(c) || ("0"..."9").contains(c) }
        while i < s.count {
            let c = s[i]
            if Character(c).isWhitespace { i += 1; continue }
            if isNameStart(c) {
                var j = i
                while j < s.count, isNamePart(s[j]) { j += 1 }
                out.append(.name(String(String.UnicodeScalarView(s[i..<j]))))
                i = j
            } else if ("0"..."9").contains(c) {
                var j = i
                var isFloat = false
                while j < s.count, ("0"..."9").contains(s[j]) || s[j] == "_" { j += 1 }
                if j + 1 < s.count, s[j] == ".", ("0"..."9").contains(s[j + 1]) {
                    isFloat = true
                    j += 1
                    while j < s.count, ("0"..."9").contains(s[j]) || s[j] == "_" { j += 1 }
                }
                if j < s.count, s[j] == "e" || s[j] == "E" {
                    var k = j + 1
                    if k < s.count, s[k] == "+" || s[k] == "-" { k += 1 }
                    if k < s.count, ("0"..."9").contains(s[k]) {
                        isFloat = true
                        j = k
                        while j < s.count, ("0"..."9").contains(s[j]) { j += 1 }
                    }
                }
                let text = String(String.UnicodeScalarView(s[i..<j])).replacingOccurrences(of: "_", with: "")
                if isFloat, let value = Double(text) { out.append(.float(value)) }
                else if let value = Int(text) { out.append(.integer(value)) }
                else { throw TemplateError("line \(line): the number \(text) is out of range") }
                i = j
            } else if c == "'" || c == "\"" {
                let (text, next) = try stringLiteral(s, from: i, line: line)
                out.append(.string(text))
                i = next
            } else if let symbol = symbols.first(where: { matches($0, s, at: i) }) {
                out.append(.symbol(symbol))
                i += symbol.unicodeScalars.count
            } else {
                throw TemplateError("line \(line): unexpected character '\(c)' in a tag")
            }
        }
        return out
    }

    private static func matches(_ symbol: String, _ s: [Unicode.Scalar], at i: Int) -> Bool {
        let scalars = Array(symbol.unicodeScalars)
        return i + scalars.count <= s.count && Array(s[i..<(i + scalars.count)]) == scalars
    }

    /// A quoted literal with Python's escapes (`\n`, `\t`, `\xHH`, `\uHHHH`, …); unknown escapes stay as written.
    private static func stringLiteral(_ s: [Unicode.Scalar], from start: Int, line: Int) throws(TemplateError) -> (String, Int) {
        let quote = s[start]
        var out = String.UnicodeScalarView()
        var i = start + 1
        while i < s.count {
            let c = s[i]
            if c == quote { return (String(out), i + 1) }
            if c == "\\", i + 1 < s.count {
                let e = s[i + 1]
                i += 2
                switch e {
                case "n": out.append("\n")
                case "t": out.append("\t")
                case "r": out.append("\r")
                case "\\": out.append("\\")
                case "'": out.append("'")
                case "\"": out.append("\"")
                case "a": out.append("\u{07}")
                case "b": out.append("\u{08}")
                case "f": out.append("\u{0C}")
                case "v": out.append("\u{0B}")
                case "0"..."7":
                    var digits = String(e)
                    while digits.count < 3, i < s.count, ("0"..."7").contains(s[i]) { digits.unicodeScalars.append(s[i]); i += 1 }
                    out.append(Unicode.Scalar(UInt32(digits, radix: 8)!) ?? "?")
                case "x", "u", "U":
                    let width = e == "x" ? 2 : e == "u" ? 4 : 8
                    guard i + width <= s.count, let value = UInt32(String(String.UnicodeScalarView(s[i..<(i + width)])), radix: 16),
                          let scalar = Unicode.Scalar(value) else {
                        throw TemplateError("line \(line): a bad \\\(e) escape in a string")
                    }
                    out.append(scalar)
                    i += width
                case "\n": break
                default: out.append("\\"); out.append(e)
                }
                continue
            }
            out.append(c)
            i += 1
        }
        throw TemplateError("line \(line): a string is never closed")
    }
}
