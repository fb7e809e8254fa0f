#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A strict RFC 8259 parser: no NaN/Infinity, no trailing commas, no duplicate keys, valid UTF-8,
/// numbers that overflow a Double rejected, nesting bounded by `maxDepth` (no stack overflow).
public struct JSONParser {
    public var maxDepth: Int

    public init(maxDepth: Int = 64) {
        self.maxDepth = maxDepth
    }

    public func parse(_ bytes: [UInt8]) throws(JSONParseError) -> JSONValue {
        try bytes.withUnsafeBufferPointer { (buffer) throws(JSONParseError) -> JSONValue in
            var cursor = Cursor(bytes: buffer, maxDepth: maxDepth)
            cursor.skipWhitespace()
            if cursor.atEnd { throw cursor.error("empty document: expected a JSON value") }
            let value = try cursor.parseValue(depth: 0)
            cursor.skipWhitespace()
            if !cursor.atEnd { throw cursor.error("unexpected \(cursor.describeCurrent()) after the JSON value") }
            return value
        }
    }

    public func parse(_ text: String) throws(JSONParseError) -> JSONValue {
        try parse(Array(text.utf8))
    }
}

private struct Cursor {
    let bytes: UnsafeBufferPointer<UInt8>
    let maxDepth: Int
    var index = 0
    /// Where the parser is, for error messages.
    var path: [PathComponent] = []

    init(bytes: UnsafeBufferPointer<UInt8>, maxDepth: Int) {
        self.bytes = bytes
        self.maxDepth = maxDepth
    }

    var atEnd: Bool { index >= bytes.count }
    var current: UInt8 { bytes[index] }

    func error(_ reason: String, at position: Int? = nil) -> JSONParseError {
        let offset = min(position ?? index, bytes.count)
        var line = 1, column = 1
        for i in 0..<offset {
            if bytes[i] == UInt8(ascii: "\n") { line += 1; column = 1 } else { column += 1 }
        }
        return JSONParseError(reason: reason, offset: offset, line: line, column: column, path: path.dotted)
    }

    func describeCurrent() -> String {
        guard !atEnd else { return "end of input" }
        let byte = current
        if byte >= 0x20 && byte < 0x7f { return "character '\(Character(Unicode.Scalar(byte)))'" }
        return "byte 0x" + String(byte, radix: 16, uppercase: true)
    }

    mutating func skipWhitespace() {
        while index < bytes.count {
            switch bytes[index] {
            case 0x20, 0x0a, 0x0d, 0x09: index += 1
            default: return
            }
        }
    }

    mutating func parseValue(depth: Int) throws(JSONParseError) -> JSONValue {
        guard !atEnd else { throw error("unexpected end of input: expected a value") }
        switch current {
        case UInt8(ascii: "{"): return try parseObject(depth: depth + 1)
        case UInt8(ascii: "["): return try parseArray(depth: depth + 1)
        case UInt8(ascii: "\""): return .string(try parseString())
        case UInt8(ascii: "t"): try expectLiteral("true"); return .bool(true)
        case UInt8(ascii: "f"): try expectLiteral("false"); return .bool(false)
        case UInt8(ascii: "n"): try expectLiteral("null"); return .null
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return .number(try parseNumber())
        default: throw error("unexpected \(describeCurrent()): expected a value")
        }
    }

    mutating func expectLiteral(_ word: StaticString) throws(JSONParseError) {
        let start = index
        let count = word.utf8CodeUnitCount
        guard bytes.count - index >= count,
              memcmp(bytes.baseAddress! + index, word.utf8Start, count) == 0 else {
            throw error("invalid literal: expected '\(word)'", at: start)
        }
        index += count
    }

    mutating func parseArray(depth: Int) throws(JSONParseError) -> JSONValue {
        if depth > maxDepth { throw error("nesting deeper than \(maxDepth) levels") }
        index += 1
        skipWhitespace()
        if !atEnd && current == UInt8(ascii: "]") { index += 1; return .array([]) }
        // Numbers stay packed until the first element that is not a number.
        var numbers: [Double] = []
        var values: [JSONValue] = []
        var packed = true
        path.append(.index(0))
        defer { path.removeLast() }
        while true {
            path[path.count - 1] = .index(packed ? numbers.count : values.count)
            skipWhitespace()
            guard !atEnd else { throw error("unexpected end of input inside an array") }
            let byte = current
            if packed && (byte == UInt8(ascii: "-") || (byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9"))) {
                numbers.append(try parseNumber())
            } else {
                if packed {
                    packed = false
                    values = numbers.map(JSONValue.number)
                    numbers = []
                }
                values.append(try parseValue(depth: depth))
            }
            skipWhitespace()
            guard !atEnd else { throw error("unexpected end of input inside an array: expected ',' or ']'") }
            if current == UInt8(ascii: ",") { index += 1; continue }
            if current == UInt8(ascii: "]") { index += 1; break }
            throw error("unexpected \(describeCurrent()) inside an array: expected ',' or ']'")
        }
        return packed ? .numbers(numbers) : .array(values)
    }

    mutating func parseObject(depth: Int) throws(JSONParseError) -> JSONValue {
        if depth > maxDepth { throw error("nesting deeper than \(maxDepth) levels") }
        index += 1
        var members: [(String, JSONValue)] = []
        // Small objects (every request body) scan their few keys; past that, a hashed set keeps the
        // duplicate check linear in the body (a scan alone is quadratic in the number of keys).
        var seenKeys: Set<String> = []
        skipWhitespace()
        if !atEnd && current == UInt8(ascii: "}") { index += 1; return .object(members) }
        while true {
            skipWhitespace()
            guard !atEnd, current == UInt8(ascii: "\"") else {
                throw error("unexpected \(describeCurrent()) in an object: expected a string key")
            }
            let keyStart = index
            let key = try parseString()
            if isDuplicate(key, members: members, seen: &seenKeys) { throw error("duplicate key '\(key)'", at: keyStart) }
            skipWhitespace()
            guard !atEnd, current == UInt8(ascii: ":") else {
                throw error("unexpected \(describeCurrent()) after key '\(key)': expected ':'")
            }
            index += 1
            skipWhitespace()
            path.append(.key(key))
            members.append((key, try parseValue(depth: depth)))
            path.removeLast()
            skipWhitespace()
            guard !atEnd else { throw error("unexpected end of input inside an object: expected ',' or '}'") }
            if current == UInt8(ascii: ",") { index += 1; continue }
            if current == UInt8(ascii: "}") { index += 1; break }
            throw error("unexpected \(describeCurrent()) inside an object: expected ',' or '}'")
        }
        return .object(members)
    }

    /// Whether `key` is already a member; from `hashedKeyThreshold` members on, through `seen`.
    private func isDuplicate(_ key: String, members: [(String, JSONValue)], seen: inout Set<String>) -> Bool {
        if members.count < hashedKeyThreshold { return members.contains { $0.0 == key } }
        if seen.isEmpty { seen = Set(members.map(\.0)) }
        return !seen.insert(key).inserted
    }

    mutating func parseString() throws(JSONParseError) -> String {
        let start = index
        index += 1
        var scan = index
        // Fast path: no escapes.
        while scan < bytes.count {
            let byte = bytes[scan]
            if byte == UInt8(ascii: "\"") {
                let slice = UnsafeBufferPointer(rebasing: bytes[index..<scan])
                guard let text = String(validating: slice, as: UTF8.self) else {
                    throw error("invalid UTF-8 in string", at: start)
                }
                index = scan + 1
                return text
            }
            if byte == UInt8(ascii: "\\") { break }
            if byte < 0x20 { throw error("unescaped control character in string", at: scan) }
            scan += 1
        }
        var utf8: [UInt8] = Array(UnsafeBufferPointer(rebasing: bytes[index..<scan]))
        index = scan
        while true {
            guard !atEnd else { throw error("unterminated string", at: start) }
            let byte = current
            if byte == UInt8(ascii: "\"") { index += 1; break }
            if byte < 0x20 { throw error("unescaped control character in string") }
            if byte != UInt8(ascii: "\\") { utf8.append(byte); index += 1; continue }
            index += 1
            guard !atEnd else { throw error("unterminated escape in string") }
            let escape = current
            index += 1
            switch escape {
            case UInt8(ascii: "\""): utf8.append(0x22)
            case UInt8(ascii: "\\"): utf8.append(0x5c)
            case UInt8(ascii: "/"): utf8.append(0x2f)
            case UInt8(ascii: "b"): utf8.append(0x08)
            case UInt8(ascii: "f"): utf8.append(0x0c)
            case UInt8(ascii: "n"): utf8.append(0x0a)
            case UInt8(ascii: "r"): utf8.append(0x0d)
            case UInt8(ascii: "t"): utf8.append(0x09)
            case UInt8(ascii: "u"):
                var scalar = try parseHex4()
                if (0xD800...0xDBFF).contains(scalar) {
                    guard bytes.count - index >= 6, bytes[index] == UInt8(ascii: "\\"), bytes[index + 1] == UInt8(ascii: "u") else {
                        throw error("lone high surrogate in \\u escape")
                    }
                    index += 2
                    let low = try parseHex4()
                    guard (0xDC00...0xDFFF).contains(low) else { throw error("invalid low surrogate in \\u escape") }
                    scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                } else if (0xDC00...0xDFFF).contains(scalar) {
                    throw error("lone low surrogate in \\u escape")
                }
                utf8.append(contentsOf: Array(String(Character(Unicode.Scalar(scalar)!)).utf8))
            default:
                throw error("invalid escape '\\\(Character(Unicode.Scalar(escape)))' in string", at: index - 2)
            }
        }
        guard let text = String(validating: utf8, as: UTF8.self) else { throw error("invalid UTF-8 in string", at: start) }
        return text
    }

    mutating func parseHex4() throws(JSONParseError) -> UInt32 {
        guard bytes.count - index >= 4 else { throw error("truncated \\u escape") }
        var value: UInt32 = 0
        for _ in 0..<4 {
            let byte = bytes[index]
            let digit: UInt32
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = UInt32(byte - UInt8(ascii: "0"))
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = UInt32(byte - UInt8(ascii: "a") + 10)
            case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = UInt32(byte - UInt8(ascii: "A") + 10)
            default: throw error("invalid hex digit in \\u escape")
            }
            value = value << 4 | digit
            index += 1
        }
        return value
    }

    /// JSON number grammar, then the value: exact fast path (Clinger) when the digits fit, strtod otherwise.
    mutating func parseNumber() throws(JSONParseError) -> Double {
        let start = index
        var negative = false
        if current == UInt8(ascii: "-") { negative = true; index += 1 }
        guard !atEnd, isDigit(current) else { throw error("invalid number: expected a digit", at: index) }
        var mantissa: UInt64 = 0
        var significantDigits = 0
        var droppedDigits = 0   // integer digits beyond 19 (each multiplies by ten)
        if current == UInt8(ascii: "0") {
            index += 1
            if !atEnd && isDigit(current) { throw error("invalid number: leading zero", at: start) }
        } else {
            while !atEnd && isDigit(current) {
                accumulate(current, &mantissa, &significantDigits, &droppedDigits, fractional: false)
                index += 1
            }
        }
        var exponent10 = droppedDigits
        if !atEnd && current == UInt8(ascii: ".") {
            index += 1
            guard !atEnd, isDigit(current) else { throw error("invalid number: expected a digit after '.'") }
            while !atEnd && isDigit(current) {
                if accumulate(current, &mantissa, &significantDigits, &droppedDigits, fractional: true) {
                    exponent10 -= 1
                }
                index += 1
            }
        }
        if !atEnd && (current == UInt8(ascii: "e") || current == UInt8(ascii: "E")) {
            index += 1
            var exponentNegative = false
            if !atEnd && (current == UInt8(ascii: "+") || current == UInt8(ascii: "-")) {
                exponentNegative = current == UInt8(ascii: "-")
                index += 1
            }
            guard !atEnd, isDigit(current) else { throw error("invalid number: expected a digit in the exponent") }
            var explicit = 0
            while !atEnd && isDigit(current) {
                if explicit < 100_000 { explicit = explicit * 10 + Int(current - UInt8(ascii: "0")) }
                index += 1
            }
            exponent10 += exponentNegative ? -explicit : explicit
        }
        let value: Double
        if significantDigits <= 19 && droppedDigits == 0 && mantissa <= (1 << 53) && (-22...22).contains(exponent10) {
            let m = Double(mantissa)
            value = exponent10 < 0 ? m / powersOfTen[-exponent10] : m * powersOfTen[exponent10]
            return negative ? -value : value
        }
        value = slowParse(start, index)
        guard value.isFinite else { throw error("number out of range for a 64-bit float", at: start) }
        return value
    }

    /// Adds one digit to the mantissa; returns whether a fractional digit was kept.
    @discardableResult
    private func accumulate(_ byte: UInt8, _ mantissa: inout UInt64, _ significant: inout Int,
                            _ dropped: inout Int, fractional: Bool) -> Bool {
        let digit = UInt64(byte - UInt8(ascii: "0"))
        if significant == 0 && digit == 0 { return fractional }   // leading zeros of 0.000123
        if significant < 19 {
            mantissa = mantissa * 10 + digit
            significant += 1
            return fractional
        }
        significant += 1
        if !fractional { dropped += 1 }
        return false
    }

    private func isDigit(_ byte: UInt8) -> Bool { byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9") }

    private func slowParse(_ start: Int, _ end: Int) -> Double {
        let length = end - start
        return withUnsafeTemporaryAllocation(of: CChar.self, capacity: length + 1) { buffer in
            for i in 0..<length { buffer[i] = CChar(bitPattern: bytes[start + i]) }
            buffer[length] = 0
            return strtod(buffer.baseAddress!, nil)
        }
    }
}

/// Members an object may have before its duplicate check switches from a scan to a hashed set.
private let hashedKeyThreshold = 16

private let powersOfTen: [Double] = (0...22).map { exponent in
    var value = 1.0
    for _ in 0..<exponent { value *= 10 }
    return value
}
