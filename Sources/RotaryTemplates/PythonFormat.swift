/// Python's text forms of values, which templates print: `repr` of floats and strings, and `json.dumps` as
/// Hugging Face's `tojson` calls it (`ensure_ascii=False`, separators `, ` and `: `, or `,` with an indent).
enum PythonFormat {
    /// `repr(float)`: the shortest digits that round-trip, positional for exponents −4 … 15, else `1e+16`.
    static func float(_ value: Double) -> String {
        if value.isNaN { return "nan" }
        if value.isInfinite { return value < 0 ? "-inf" : "inf" }
        if value == 0 { return value.sign == .minus ? "-0.0" : "0.0" }
        // Swift's description also prints the shortest round-trip digits; take them and lay them out as Python does.
        var text = "\(abs(value))"
        var exponent = 0
        if let e = text.firstIndex(where: { $0 == "e" || $0 == "E" }) {
            exponent = Int(text[text.index(after: e)...])!
            text = String(text[..<e])
        }
        var digits = text.replacingOccurrences(of: ".", with: "")
        let pointAt = (text.firstIndex(of: ".").map { text.distance(from: text.startIndex, to: $0) } ?? text.count) + exponent
        // Normalize: strip leading zeros (moving the point) and trailing zeros.
        var point = pointAt
        while digits.count > 1, digits.first == "0" { digits.removeFirst(); point -= 1 }
        while digits.count > 1, digits.last == "0" { digits.removeLast() }
        let decimalExponent = point - 1
        let sign = value < 0 ? "-" : ""
        if decimalExponent < -4 || decimalExponent >= 16 {
            let mantissa = digits.count == 1 ? digits : String(digits.first!) + "." + digits.dropFirst()
            let e = decimalExponent < 0 ? "-" + pad(-decimalExponent) : "+" + pad(decimalExponent)
            return sign + mantissa + "e" + e
        }
        if point <= 0 { return sign + "0." + String(repeating: "0", count: -point) + digits }
        if point >= digits.count { return sign + digits + String(repeating: "0", count: point - digits.count) + ".0" }
        return sign + String(digits.prefix(point)) + "." + String(digits.dropFirst(point))
    }

    private static func pad(_ exponent: Int) -> String { exponent < 10 ? "0\(exponent)" : "\(exponent)" }

    /// `repr(str)`: single quotes unless the text has one and no double quote.
    static func quoted(_ text: String) -> String {
        let quote: Character = text.contains("'") && !text.contains("\"") ? "\"" : "'"
        var out = String(quote)
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            default:
                if Character(scalar) == quote { out += "\\" + String(quote) }
                else if scalar.value < 0x20 || scalar.value == 0x7F { out += "\\x" + hex(scalar.value, width: 2) }
                else { out.unicodeScalars.append(scalar) }
            }
        }
        return out + String(quote)
    }

    static func hex(_ value: UInt32, width: Int) -> String {
        let digits = String(value, radix: 16)
        return String(repeating: "0", count: max(0, width - digits.count)) + digits
    }

    /// `json.dumps(value, ensure_ascii=asciiOnly, indent=indent, separators=separators, sort_keys=sortKeys)`.
    static func json(_ value: TemplateValue, indent: Int?, sortKeys: Bool = false, separators: (item: String, key: String)? = nil,
                     asciiOnly: Bool = false, level: Int = 0) throws(TemplateError) -> String {
        let itemSeparator = separators?.item ?? (indent == nil ? ", " : ",")
        let keySeparator = separators?.key ?? ": "
        func newline(_ depth: Int) -> String { indent.map { "\n" + String(repeating: " ", count: $0 * depth) } ?? "" }
        switch value {
        case .none: return "null"
        case .bool(let b): return b ? "true" : "false"
        case .int(let i): return String(i)
        case .double(let d):
            if d.isNaN { return "NaN" }
            if d.isInfinite { return d < 0 ? "-Infinity" : "Infinity" }
            return float(d)
        case .string(let s): return jsonString(s.string, asciiOnly: asciiOnly)
        case .list(let items), .tuple(let items):
            if items.isEmpty { return "[]" }
            var parts: [String] = []
            for item in items { parts.append(try json(item, indent: indent, sortKeys: sortKeys, separators: separators, asciiOnly: asciiOnly, level: level + 1)) }
            return "[" + newline(level + 1) + parts.joined(separator: itemSeparator + newline(level + 1)) + newline(level) + "]"
        case .dict(let pairs):
            if pairs.isEmpty { return "{}" }
            var entries: [(String, String)] = []
            for (key, item) in pairs {
                let name: String
                switch key {
                case .string(let s): name = s.string
                case .int(let i): name = String(i)
                case .double(let d): name = float(d)
                case .bool(let b): name = b ? "true" : "false"
                case .none: name = "null"
                default: throw TemplateError("tojson: keys must be str, int, float, bool or None, not \(key.typeName)")
                }
                entries.append((name, try json(item, indent: indent, sortKeys: sortKeys, separators: separators, asciiOnly: asciiOnly, level: level + 1)))
            }
            if sortKeys { entries.sort { Array($0.0.unicodeScalars.map(\.value)).lexicographicallyPrecedes($1.0.unicodeScalars.map(\.value)) } }
            let body = entries.map { jsonString($0.0, asciiOnly: asciiOnly) + keySeparator + $0.1 }
            return "{" + newline(level + 1) + body.joined(separator: itemSeparator + newline(level + 1)) + newline(level) + "}"
        case .namespace, .function, .undefined:
            throw TemplateError("tojson: Object of type \(value.typeName) is not JSON serializable")
        }
    }

    /// Python's escaping, which differs from RotaryJSON's writer in `\b` and `\f` (Python names them; the writer
    /// writes `\u0008`): the template's bytes must be Python's.
    static func jsonString(_ text: String, asciiOnly: Bool = false) -> String {
        var out = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case "\u{08}": out += "\\b"
            case "\u{0C}": out += "\\f"
            default:
                if scalar.value < 0x20 || (asciiOnly && scalar.value > 0x7E) {
                    // ensure_ascii: past the BMP, a UTF-16 surrogate pair, as Python writes it.
                    for unit in String(scalar).utf16 { out += "\\u" + hex(UInt32(unit), width: 4) }
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        return out + "\""
    }
}
