/// Text that remembers which of its parts came from the caller's data (the messages) and which from the
/// template: special tokens are read as control tokens only in the template's parts.
public struct TemplateText: Sendable, Hashable {
    public struct Segment: Sendable, Hashable {
        public var text: String
        public var fromInput: Bool
    }

    public private(set) var segments: [Segment] = []

    public init(_ text: String = "", fromInput: Bool = false) {
        if !text.isEmpty { segments = [Segment(text: text, fromInput: fromInput)] }
    }

    public var string: String { segments.map(\.text).joined() }
    public var isEmpty: Bool { segments.isEmpty }
    /// Whether any part came from the data: the result of changing such text (trim, replace, split…) counts as data.
    public var hasInput: Bool { segments.contains { $0.fromInput } }

    public mutating func append(_ other: TemplateText) {
        for segment in other.segments {
            if let last = segments.indices.last, segments[last].fromInput == segment.fromInput {
                segments[last].text += segment.text
            } else {
                segments.append(segment)
            }
        }
    }

    static func + (a: TemplateText, b: TemplateText) -> TemplateText {
        var out = a
        out.append(b)
        return out
    }

    /// A new text made from this one's characters: data if any of it was.
    func derived(_ text: String) -> TemplateText { TemplateText(text, fromInput: hasInput) }

    public static func == (a: TemplateText, b: TemplateText) -> Bool { a.string == b.string }
    public func hash(into hasher: inout Hasher) { hasher.combine(string) }
}

/// A mutable object shared by reference: Jinja's `namespace()`, the one thing a loop body may change for
/// the code after the loop.
public final class NamespaceObject: @unchecked Sendable {
    var attributes: [(String, TemplateValue)]
    init(_ attributes: [(String, TemplateValue)]) { self.attributes = attributes }

    subscript(name: String) -> TemplateValue? {
        get { attributes.first { $0.0 == name }?.1 }
        set {
            if let i = attributes.firstIndex(where: { $0.0 == name }) {
                if let newValue { attributes[i].1 = newValue } else { attributes.remove(at: i) }
            } else if let newValue {
                attributes.append((name, newValue))
            }
        }
    }
}

/// A callable: a filter-like builtin, a bound method, or a macro.
public struct TemplateFunction: @unchecked Sendable {
    var name: String
    var call: ([TemplateValue], [(String, TemplateValue)]) throws(TemplateError) -> TemplateValue
}

/// A value as Python and Jinja see it.
public indirect enum TemplateValue: @unchecked Sendable {
    case undefined(String)
    case none
    case bool(Bool)
    case int(Int)
    case double(Double)
    case string(TemplateText)
    case list([TemplateValue])
    case tuple([TemplateValue])
    /// Insertion-ordered, as Python's dict.
    case dict([(TemplateValue, TemplateValue)])
    case namespace(NamespaceObject)
    case function(TemplateFunction)

    /// Text of the template's or the server's own (not the caller's data).
    public static func text(_ s: String) -> TemplateValue { .string(TemplateText(s)) }

    var isUndefined: Bool { if case .undefined = self { return true }; return false }

    var truthy: Bool {
        switch self {
        case .undefined, .none: return false
        case .bool(let b): return b
        case .int(let i): return i != 0
        case .double(let d): return d != 0
        case .string(let s): return !s.string.isEmpty
        case .list(let l), .tuple(let l): return !l.isEmpty
        case .dict(let d): return !d.isEmpty
        case .namespace, .function: return true
        }
    }

    /// The items a `for` loop visits: a list's elements, a dict's keys, a string's characters.
    func iterated() throws(TemplateError) -> [TemplateValue] {
        switch self {
        case .undefined: return []
        case .list(let l), .tuple(let l): return l
        case .dict(let d): return d.map(\.0)
        case .string(let s): return s.string.map { .string(s.derived(String($0))) }
        default: throw TemplateError("'\(typeName)' object is not iterable")
        }
    }

    var typeName: String {
        switch self {
        case .undefined: return "Undefined"
        case .none: return "NoneType"
        case .bool: return "bool"
        case .int: return "int"
        case .double: return "float"
        case .string: return "str"
        case .list: return "list"
        case .tuple: return "tuple"
        case .dict: return "dict"
        case .namespace: return "Namespace"
        case .function: return "function"
        }
    }

    /// Python's `str()`: what `{{ value }}` writes (an undefined value writes nothing).
    var text: TemplateText {
        switch self {
        case .undefined: return TemplateText()
        case .string(let s): return s
        default: return TemplateText(repr, fromInput: containsInput)
        }
    }

    var containsInput: Bool {
        switch self {
        case .string(let s): return s.hasInput
        case .list(let l), .tuple(let l): return l.contains { $0.containsInput }
        case .dict(let d): return d.contains { $0.0.containsInput || $0.1.containsInput }
        default: return false
        }
    }

    /// Python's `repr()`.
    var repr: String {
        switch self {
        case .undefined: return ""
        case .none: return "None"
        case .bool(let b): return b ? "True" : "False"
        case .int(let i): return String(i)
        case .double(let d): return PythonFormat.float(d)
        case .string(let s): return PythonFormat.quoted(s.string)
        case .list(let l): return "[" + l.map(\.repr).joined(separator: ", ") + "]"
        case .tuple(let l): return "(" + l.map(\.repr).joined(separator: ", ") + (l.count == 1 ? ",)" : ")")
        case .dict(let d): return "{" + d.map { "\($0.0.repr): \($0.1.repr)" }.joined(separator: ", ") + "}"
        case .namespace(let n): return "<Namespace " + TemplateValue.dict(n.attributes.map { (.text($0.0), $0.1) }).repr + ">"
        case .function(let f): return "<function \(f.name)>"
        }
    }

    /// Python's `==`: numbers by value (True == 1), containers item by item.
    static func equal(_ a: TemplateValue, _ b: TemplateValue) -> Bool {
        switch (a, b) {
        case (.undefined, .undefined), (.none, .none): return true
        case (.string(let x), .string(let y)): return x.string == y.string
        case (.list(let x), .list(let y)), (.tuple(let x), .tuple(let y)):
            return x.count == y.count && zip(x, y).allSatisfy { equal($0, $1) }
        case (.dict(let x), .dict(let y)):
            return x.count == y.count && x.allSatisfy { pair in y.contains { equal($0.0, pair.0) && equal($0.1, pair.1) } }
        case (.namespace(let x), .namespace(let y)): return x === y
        default:
            if let x = a.number, let y = b.number { return x == y }
            return false
        }
    }

    /// Bools and ints and floats as a number (Python's numeric tower).
    var number: Double? {
        switch self {
        case .bool(let b): return b ? 1 : 0
        case .int(let i): return Double(i)
        case .double(let d): return d
        default: return nil
        }
    }

    var integer: Int? {
        switch self {
        case .bool(let b): return b ? 1 : 0
        case .int(let i): return i
        default: return nil
        }
    }

    var stringValue: String? { if case .string(let s) = self { return s.string }; return nil }
}
