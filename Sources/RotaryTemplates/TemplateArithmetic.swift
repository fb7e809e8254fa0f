import Foundation

/// Python's operators on template values: `+ - * / // % **`, Jinja's `~`, comparisons and `in`.
enum TemplateArithmetic {
    static func apply(_ op: String, _ a: TemplateValue, _ b: TemplateValue) throws(TemplateError) -> TemplateValue {
        if op == "~" { return .string(a.text + b.text) }
        if case .undefined(let name) = a { throw TemplateError("'\(name)' is undefined (used with '\(op)')") }
        if case .undefined(let name) = b { throw TemplateError("'\(name)' is undefined (used with '\(op)')") }
        switch (op, a, b) {
        case ("+", .string(let x), .string(let y)): return .string(x + y)
        case ("+", .list(let x), .list(let y)): return .list(x + y)
        case ("+", .tuple(let x), .tuple(let y)): return .tuple(x + y)
        case ("*", .string(let x), _) where b.integer != nil: return .string(x.derived(String(repeating: x.string, count: max(0, b.integer!))))
        case ("*", .list(let x), _) where b.integer != nil: return .list(Array(repeating: x, count: max(0, b.integer!)).flatMap { $0 })
        case ("%", .string(let x), _): return .string(try printf(x, b))
        default: break
        }
        if let x = a.integer, let y = b.integer {
            switch op {
            case "+": return .int(x &+ y)
            case "-": return .int(x &- y)
            case "*": return .int(x &* y)
            case "/":
                guard y != 0 else { throw TemplateError("division by zero") }
                return .double(Double(x) / Double(y))
            case "//":
                guard y != 0 else { throw TemplateError("integer division by zero") }
                let q = x / y
                return .int((x % y != 0 && (x < 0) != (y < 0)) ? q - 1 : q)
            case "%":
                guard y != 0 else { throw TemplateError("integer modulo by zero") }
                let r = x % y
                return .int(r != 0 && (r < 0) != (y < 0) ? r + y : r)
            case "**":
                if y >= 0 {
                    var result = 1
                    for _ in 0..<min(y, 4096) { result = result &* x }
                    return .int(result)
                }
                return .double(pow(Double(x), Double(y)))
            default: break
            }
        }
        if let x = a.number, let y = b.number {
            switch op {
            case "+": return .double(x + y)
            case "-": return .double(x - y)
            case "*": return .double(x * y)
            case "/":
                guard y != 0 else { throw TemplateError("float division by zero") }
                return .double(x / y)
            case "//":
                guard y != 0 else { throw TemplateError("float floor division by zero") }
                return .double((x / y).rounded(.down))
            case "%":
                guard y != 0 else { throw TemplateError("float modulo") }
                let r = x.truncatingRemainder(dividingBy: y)
                return .double(r != 0 && (r < 0) != (y < 0) ? r + y : r)
            case "**": return .double(pow(x, y))
            default: break
            }
        }
        throw TemplateError("unsupported operand types for \(op): '\(a.typeName)' and '\(b.typeName)'")
    }

    private static func pow(_ x: Double, _ y: Double) -> Double {
        var result = 1.0
        if y == y.rounded(), abs(y) < 4096 {
            for _ in 0..<Int(abs(y)) { result *= x }
            return y < 0 ? 1 / result : result
        }
        return Double.nan
    }

    /// `'…%s…' % value`: `%s`, `%d`, `%%`.
    private static func printf(_ format: TemplateText, _ argument: TemplateValue) throws(TemplateError) -> TemplateText {
        var values: [TemplateValue]
        if case .tuple(let items) = argument { values = items } else { values = [argument] }
        var out = TemplateText()
        var literal = ""
        var characters = Substring(format.string)
        while let c = characters.popFirst() {
            guard c == "%" else { literal.append(c); continue }
            guard let spec = characters.popFirst() else { throw TemplateError("%-format: a lone '%' at the end") }
            if spec == "%" { literal.append("%"); continue }
            guard !values.isEmpty else { throw TemplateError("%-format: not enough arguments") }
            let value = values.removeFirst()
            out.append(format.derived(literal))
            literal = ""
            switch spec {
            case "s": out.append(value.text)
            case "d", "i":
                guard let n = value.number else { throw TemplateError("%d format: a number is required") }
                out.append(TemplateText(String(Int(n))))
            default: throw TemplateError("%-format: '%\(spec)' is not supported")
            }
        }
        out.append(format.derived(literal))
        return out
    }

    static func compare(_ op: String, _ a: TemplateValue, _ b: TemplateValue) throws(TemplateError) -> Bool {
        switch op {
        case "==": return TemplateValue.equal(a, b)
        case "!=": return !TemplateValue.equal(a, b)
        case "in": return try contains(b, a)
        case "not in": return !(try contains(b, a))
        default:
            let order = try ordering(a, b)
            switch op {
            case "<": return order < 0
            case ">": return order > 0
            case "<=": return order <= 0
            default: return order >= 0
            }
        }
    }

    static func contains(_ container: TemplateValue, _ item: TemplateValue) throws(TemplateError) -> Bool {
        switch container {
        case .string(let s):
            guard let needle = item.stringValue else { throw TemplateError("'in <string>' requires a string as left operand, not \(item.typeName)") }
            return needle.isEmpty || s.string.contains(needle)
        case .list(let items), .tuple(let items): return items.contains { TemplateValue.equal($0, item) }
        case .dict(let pairs): return pairs.contains { TemplateValue.equal($0.0, item) }
        case .undefined: return false
        default: throw TemplateError("argument of type '\(container.typeName)' is not iterable")
        }
    }

    /// −1, 0 or 1 as Python orders numbers, strings (by code point) and sequences.
    static func ordering(_ a: TemplateValue, _ b: TemplateValue) throws(TemplateError) -> Int {
        if let x = a.number, let y = b.number { return x < y ? -1 : x > y ? 1 : 0 }
        switch (a, b) {
        case (.string(let x), .string(let y)):
            let xs = Array(x.string.unicodeScalars.map(\.value)), ys = Array(y.string.unicodeScalars.map(\.value))
            return xs == ys ? 0 : xs.lexicographicallyPrecedes(ys) ? -1 : 1
        case (.list(let x), .list(let y)), (.tuple(let x), .tuple(let y)):
            for (p, q) in zip(x, y) {
                let order = try ordering(p, q)
                if order != 0 { return order }
            }
            return x.count < y.count ? -1 : x.count > y.count ? 1 : 0
        default:
            throw TemplateError("'<' not supported between instances of '\(a.typeName)' and '\(b.typeName)'")
        }
    }
}
