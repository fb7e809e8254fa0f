import Foundation

/// The filters chat templates use, with Jinja's arguments and defaults; `tojson` as Hugging Face defines it
/// (`ensure_ascii=False`). An unknown filter is an error naming it.
enum TemplateFilters {
    static func apply(_ name: String, to value: TemplateValue, _ positional: [TemplateValue], _ keywords: [(String, TemplateValue)],
                      renderer: TemplateRenderer) throws(TemplateError) -> TemplateValue {
        var arguments = Arguments(positional: positional, keywords: keywords)
        switch name {
        case "length", "count":
            switch value {
            case .undefined: return .int(0)
            case .string(let s): return .int(s.string.count)
            case .list(let l), .tuple(let l): return .int(l.count)
            case .dict(let d): return .int(d.count)
            default: throw TemplateError("object of type '\(value.typeName)' has no len() (filter '\(name)')")
            }
        case "string": return .string(value.text)
        case "safe": return .string(value.text)
        case "trim":
            let characters = arguments.take("chars")?.stringValue
            return .string(value.text.derived(PythonStrings.strip(value.text.string, characters, leading: true, trailing: true)))
        case "upper": return .string(value.text.derived(value.text.string.uppercased()))
        case "lower": return .string(value.text.derived(value.text.string.lowercased()))
        case "capitalize": return .string(value.text.derived(PythonStrings.capitalize(value.text.string)))
        case "title": return .string(value.text.derived(PythonStrings.title(value.text.string)))
        case "default", "d":
            let fallback = arguments.take("default_value") ?? .text("")
            let boolean = arguments.take("boolean")?.truthy ?? false
            return value.isUndefined || (boolean && !value.truthy) ? fallback : value
        case "join":
            let separator = arguments.take("d")?.text ?? TemplateText()
            let attribute = arguments.take("attribute")
            var out = TemplateText()
            for (i, item) in try value.iterated().enumerated() {
                if i > 0 { out.append(separator) }
                out.append((try attribute.map { (a) throws(TemplateError) in try field(item, a) } ?? item).text)
            }
            return .string(out)
        case "tojson":
            // Hugging Face's signature: tojson(x, ensure_ascii=False, indent=None, separators=None, sort_keys=False).
            let asciiOnly = arguments.take("ensure_ascii")?.truthy ?? false
            let indent = arguments.take("indent")?.integer
            var separators: (item: String, key: String)? = nil
            if let given = arguments.take("separators"), !TemplateValue.equal(given, .none) {
                let parts = try given.iterated()
                guard parts.count == 2, let item = parts[0].stringValue, let key = parts[1].stringValue else {
                    throw TemplateError("tojson: separators must be two strings")
                }
                separators = (item, key)
            }
            let sortKeys = arguments.take("sort_keys")?.truthy ?? false
            let json = try PythonFormat.json(value, indent: indent, sortKeys: sortKeys, separators: separators, asciiOnly: asciiOnly)
            return .string(TemplateText(json, fromInput: value.containsInput))
        case "items":
            if value.isUndefined { return .list([]) }
            guard case .dict(let pairs) = value else { throw TemplateError("filter 'items' needs a mapping, not \(value.typeName)") }
            return .list(pairs.map { .tuple([$0.0, $0.1]) })
        case "dictsort":
            guard case .dict(let pairs) = value else { throw TemplateError("filter 'dictsort' needs a mapping, not \(value.typeName)") }
            let caseSensitive = arguments.take("case_sensitive")?.truthy ?? false
            let byValue = arguments.take("by")?.stringValue == "value"
            let reverse = arguments.take("reverse")?.truthy ?? false
            var sorted = try sortValues(pairs.map { TemplateValue.tuple([$0.0, $0.1]) }, caseSensitive: caseSensitive) { item throws(TemplateError) in
                try TemplateAccess.item(item, .int(byValue ? 1 : 0))
            }
            if reverse { sorted.reverse() }
            return .list(sorted)
        case "list":
            return .list(try value.iterated())
        case "first": return try value.iterated().first ?? .undefined("first")
        case "last": return try value.iterated().last ?? .undefined("last")
        case "reverse":
            if case .string(let s) = value { return .string(s.derived(String(s.string.reversed()))) }
            return .list(try value.iterated().reversed())
        case "int":
            let fallback = arguments.take("default") ?? .int(0)
            switch value {
            case .int, .bool: return .int(value.integer!)
            case .double(let d): return d.isFinite ? .int(Int(d)) : fallback
            case .string(let s):
                let text = s.string.trimmingCharacters(in: .whitespaces)
                if let i = Int(text) { return .int(i) }
                if let d = Double(text), d.isFinite { return .int(Int(d)) }
                return fallback
            default: return fallback
            }
        case "float":
            let fallback = arguments.take("default") ?? .double(0)
            if let n = value.number { return .double(n) }
            if let s = value.stringValue, let d = Double(s.trimmingCharacters(in: .whitespaces)) { return .double(d) }
            return fallback
        case "abs":
            switch value {
            case .int(let i): return .int(abs(i))
            case .double(let d): return .double(abs(d))
            default: throw TemplateError("bad operand type for abs(): '\(value.typeName)'")
            }
        case "replace":
            let old = arguments.take("old")?.stringValue ?? "", new = arguments.take("new")?.text ?? TemplateText()
            let count = arguments.take("count")?.integer ?? -1
            return .string(TemplateText(PythonStrings.replace(value.text.string, old, new.string, count: count),
                                        fromInput: value.containsInput || new.hasInput))
        case "indent": return .string(indent(value.text, &arguments))
        case "selectattr", "rejectattr", "select", "reject":
            let attribute = name.hasSuffix("attr") ? arguments.take("attribute") : nil
            let test = arguments.take("test")?.stringValue
            let testArguments = arguments.rest()
            let keep = name.hasPrefix("select")
            var out: [TemplateValue] = []
            // Jinja's select family reads nothing from a false value (none, an empty list).
            for item in value.truthy ? try value.iterated() : [] {
                let subject = try attribute.map { (a) throws(TemplateError) in try field(item, a) } ?? item
                let passes = try test.map { (t) throws(TemplateError) in try TemplateTests.apply(t, subject, testArguments) } ?? subject.truthy
                if passes == keep { out.append(item) }
            }
            return .list(out)
        case "map":
            if !value.truthy { return .list([]) }
            if let attribute = arguments.takeKeyword("attribute") {
                let fallback = arguments.takeKeyword("default")
                return .list(try value.iterated().map { (item) throws(TemplateError) in
                    let found = try field(item, attribute)
                    return found.isUndefined ? fallback ?? found : found
                })
            }
            guard let filter = arguments.take("filter")?.stringValue else { throw TemplateError("filter 'map' needs a filter name or attribute=") }
            let rest = arguments.rest()
            return .list(try value.iterated().map { (item) throws(TemplateError) in try apply(filter, to: item, rest, [], renderer: renderer) })
        case "unique":
            let caseSensitive = arguments.take("case_sensitive")?.truthy ?? false
            let attribute = arguments.take("attribute")
            var seen: [TemplateValue] = []
            var out: [TemplateValue] = []
            for item in try value.iterated() {
                let key = fold(try attribute.map { (a) throws(TemplateError) in try field(item, a) } ?? item, caseSensitive)
                if !seen.contains(where: { TemplateValue.equal($0, key) }) { seen.append(key); out.append(item) }
            }
            return .list(out)
        case "sort":
            let reverse = arguments.take("reverse")?.truthy ?? false
            let caseSensitive = arguments.take("case_sensitive")?.truthy ?? false
            let attribute = arguments.take("attribute")
            var sorted = try sortValues(try value.iterated(), caseSensitive: caseSensitive) { item throws(TemplateError) in
                try attribute.map { (a) throws(TemplateError) in try field(item, a) } ?? item
            }
            if reverse { sorted.reverse() }
            return .list(sorted)
        case "min", "max":
            let caseSensitive = arguments.take("case_sensitive")?.truthy ?? false
            let attribute = arguments.take("attribute")
            let sorted = try sortValues(try value.iterated(), caseSensitive: caseSensitive) { item throws(TemplateError) in
                try attribute.map { (a) throws(TemplateError) in try field(item, a) } ?? item
            }
            return (name == "min" ? sorted.first : sorted.last) ?? .undefined(name)
        case "sum":
            var total: TemplateValue = arguments.take("start") ?? .int(0)
            for item in try value.iterated() { total = try TemplateArithmetic.apply("+", total, item) }
            return total
        case "escape", "e":
            let text = value.text
            var escaped = ""
            for c in text.string {
                switch c {
                case "&": escaped += "&amp;"
                case "<": escaped += "&lt;"
                case ">": escaped += "&gt;"
                case "\"": escaped += "&#34;"
                case "'": escaped += "&#39;"
                default: escaped.append(c)
                }
            }
            return .string(text.derived(escaped))
        default:
            throw TemplateError("the filter '\(name)' is not supported")
        }
    }

    /// An item's attribute as Jinja's `environment.getitem` reads it (item first, then attribute; `a.b` paths).
    static func field(_ item: TemplateValue, _ attribute: TemplateValue) throws(TemplateError) -> TemplateValue {
        if let i = attribute.integer { return try TemplateAccess.item(item, .int(i)) }
        var current = item
        for part in (attribute.stringValue ?? "").split(separator: ".") {
            if current.isUndefined { return current }
            current = try TemplateAccess.item(current, Int(part).map { .int($0) } ?? .text(String(part)))
        }
        return current
    }

    private static func fold(_ value: TemplateValue, _ caseSensitive: Bool) -> TemplateValue {
        if !caseSensitive, case .string(let s) = value { return .text(s.string.lowercased()) }
        return value
    }

    /// A stable sort by `key` (strings compared lower-cased unless case-sensitive), as Python's `sorted`.
    private static func sortValues(_ items: [TemplateValue], caseSensitive: Bool,
                                   key: (TemplateValue) throws(TemplateError) -> TemplateValue) throws(TemplateError) -> [TemplateValue] {
        var keyed: [(TemplateValue, TemplateValue)] = []
        for item in items { keyed.append((fold(try key(item), caseSensitive), item)) }
        // Insertion sort: stable, and it lets the comparison throw.
        var out: [(TemplateValue, TemplateValue)] = []
        for entry in keyed {
            var index = out.count
            while index > 0, try TemplateArithmetic.ordering(entry.0, out[index - 1].0) < 0 { index -= 1 }
            out.insert(entry, at: index)
        }
        return out.map(\.1)
    }

    /// Jinja 3's `indent(width=4, first=False, blank=False)`: every line but the first (unless `first`), blank
    /// lines only with `blank`.
    private static func indent(_ text: TemplateText, _ arguments: inout Arguments) -> TemplateText {
        let width = arguments.take("width")
        let first = arguments.take("first")?.truthy ?? false
        let blank = arguments.take("blank")?.truthy ?? false
        let indention = width?.stringValue ?? String(repeating: " ", count: width?.integer ?? 4)
        let lines = (text.string + "\n").split(omittingEmptySubsequences: false) { $0.isNewline }.map(String.init).dropLast()
        var out: String
        if blank {
            out = lines.joined(separator: "\n" + indention)
        } else {
            out = lines.first ?? ""
            for line in lines.dropFirst() { out += "\n" + (line.isEmpty ? line : indention + line) }
        }
        if first { out = indention + out }
        return text.derived(out)
    }
}

/// A filter's arguments taken by position or by name, in its signature's order.
struct Arguments {
    var positional: [TemplateValue]
    var keywords: [(String, TemplateValue)]

    mutating func take(_ name: String) -> TemplateValue? {
        if let i = keywords.firstIndex(where: { $0.0 == name }) { return keywords.remove(at: i).1 }
        return positional.isEmpty ? nil : positional.removeFirst()
    }

    mutating func takeKeyword(_ name: String) -> TemplateValue? {
        guard let i = keywords.firstIndex(where: { $0.0 == name }) else { return nil }
        return keywords.remove(at: i).1
    }

    mutating func rest() -> [TemplateValue] {
        defer { positional = [] }
        return positional
    }
}
