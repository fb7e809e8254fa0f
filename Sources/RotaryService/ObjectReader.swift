import RotaryHTTP
import RotaryJSON

/// Reads the members of one JSON object, naming the field (`rope.factor`) in every error, and
/// rejects members nobody asked for (typos must not be silently ignored).
struct ObjectReader {
    private let members: [(String, JSONValue)]
    let path: String
    private var consumed: Set<String> = []
    /// Members that may be `null` (meaning: the default); any other `null` is an error.
    private let nullable: Set<String>

    init(_ value: JSONValue, path: String, nullable: Set<String> = []) throws(HTTPError) {
        guard case .object(let members) = value else {
            throw .badRequest("\(path.isEmpty ? "the request body" : path) must be a JSON object, got \(value.kindDescription)",
                              param: path.isEmpty ? nil : path)
        }
        self.members = members
        self.path = path
        self.nullable = nullable
    }

    func name(_ key: String) -> String { path.isEmpty ? key : "\(path).\(key)" }

    func has(_ key: String) -> Bool { members.contains { $0.0 == key && $0.1 != .null } }

    /// The member's value; `null` counts as absent.
    mutating func value(_ key: String) -> JSONValue? {
        consumed.insert(key)
        guard let value = members.first(where: { $0.0 == key })?.1, value != .null else { return nil }
        return value
    }

    mutating func double(_ key: String) throws(HTTPError) -> Double? {
        guard let value = value(key) else { return nil }
        guard case .number(let number) = value else { throw typeError(key, "a number", value) }
        return number
    }

    /// A whole number within `range`.
    mutating func int(_ key: String, in range: ClosedRange<Int> = Int(Int32.min)...Int(Int32.max)) throws(HTTPError) -> Int? {
        guard let number = try double(key) else { return nil }
        guard number.rounded() == number, Double(range.lowerBound) <= number, number <= Double(range.upperBound) else {
            throw .badRequest("\(name(key)) must be a whole number in \(range.lowerBound)...\(range.upperBound), got \(number)", param: name(key))
        }
        return Int(number)
    }

    mutating func bool(_ key: String) throws(HTTPError) -> Bool? {
        guard let value = value(key) else { return nil }
        guard case .bool(let flag) = value else { throw typeError(key, "true or false", value) }
        return flag
    }

    mutating func string(_ key: String) throws(HTTPError) -> String? {
        guard let value = value(key) else { return nil }
        guard case .string(let text) = value else { throw typeError(key, "a string", value) }
        return text
    }

    /// One of `allowed`, the message listing them all.
    mutating func choice(_ key: String, _ allowed: [String]) throws(HTTPError) -> String? {
        guard let text = try string(key) else { return nil }
        guard allowed.contains(text) else {
            throw .badRequest("\(name(key)) must be one of \(allowed.joined(separator: ", ")); got '\(text)'", param: name(key))
        }
        return text
    }

    mutating func doubles(_ key: String) throws(HTTPError) -> [Double]? {
        guard let value = value(key) else { return nil }
        switch value {
        case .numbers(let numbers): return numbers
        case .array(let items) where items.isEmpty: return []
        default: throw typeError(key, "an array of numbers", value)
        }
    }

    mutating func strings(_ key: String) throws(HTTPError) -> [String]? {
        guard let value = value(key) else { return nil }
        guard case .array(let items) = value else { throw typeError(key, "an array of strings", value) }
        var out: [String] = []
        for (i, item) in items.enumerated() {
            guard case .string(let text) = item else {
                throw .badRequest("\(name(key))[\(i)] must be a string, got \(item.kindDescription)", param: "\(name(key))[\(i)]")
            }
            out.append(text)
        }
        return out
    }

    /// Fails on the first member that was never read. `known` members that were not read (because
    /// they do not apply, e.g. to this `rope_type`) get `notApplicable`'s message.
    func finish(known: Set<String> = [], notApplicable: String = "") throws(HTTPError) {
        for (key, value) in members where value == .null && consumed.contains(key) && !nullable.contains(key) {
            throw .badRequest("\(name(key)) must not be null (leave it out to use its default)", param: name(key))
        }
        for (key, _) in members where !consumed.contains(key) {
            if known.contains(key) {
                throw .badRequest("\(name(key)) \(notApplicable)", param: name(key))
            }
            throw .badRequest("unknown field \(name(key))", param: name(key))
        }
    }

    private func typeError(_ key: String, _ expected: String, _ got: JSONValue) -> HTTPError {
        .badRequest("\(name(key)) must be \(expected), got \(got.kindDescription)", param: name(key))
    }
}
