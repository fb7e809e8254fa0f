/// A parsed JSON document. Arrays made only of numbers are kept packed as `[Double]` (`.numbers`),
/// so tensors of thousands of values cost one allocation per row rather than one enum per value.
public indirect enum JSONValue: Sendable, Equatable {
    case null
    case bool(Bool)
    case number(Double)
    case string(String)
    case array([JSONValue])
    /// A non-empty array whose every element is a number.
    case numbers([Double])
    /// Members in document order (keys are unique: the parser rejects duplicates).
    case object([(String, JSONValue)])

    public static func == (lhs: JSONValue, rhs: JSONValue) -> Bool {
        switch (lhs, rhs) {
        case (.null, .null): return true
        case (.bool(let a), .bool(let b)): return a == b
        case (.number(let a), .number(let b)): return a == b
        case (.string(let a), .string(let b)): return a == b
        case (.array(let a), .array(let b)): return a == b
        case (.numbers(let a), .numbers(let b)): return a == b
        case (.numbers(let a), .array(let b)), (.array(let b), .numbers(let a)):
            return a.map(JSONValue.number) == b
        case (.object(let a), .object(let b)):
            return a.count == b.count && zip(a, b).allSatisfy { $0.0 == $1.0 && $0.1 == $1.1 }
        default: return false
        }
    }

    /// The member with this key, when this is an object.
    public subscript(key: String) -> JSONValue? {
        guard case .object(let members) = self else { return nil }
        return members.first { $0.0 == key }?.1
    }

    /// A word for error messages: "a string", "an array", ...
    public var kindDescription: String {
        switch self {
        case .null: return "null"
        case .bool: return "a boolean"
        case .number: return "a number"
        case .string: return "a string"
        case .array, .numbers: return "an array"
        case .object: return "an object"
        }
    }
}
