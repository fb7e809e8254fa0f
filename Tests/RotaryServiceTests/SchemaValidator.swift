import Foundation

/// A small JSON Schema (2020-12 subset) validator for holding responses to `openapi.yaml`:
/// $ref, type (incl. lists), required, properties, additionalProperties: false, items, minItems,
/// enum, const, oneOf.
struct SchemaValidator {
    let document: [String: Any]

    func resolve(_ schema: [String: Any]) -> [String: Any] {
        guard let ref = schema["$ref"] as? String, ref.hasPrefix("#/") else { return schema }
        var node: Any = document
        for part in ref.dropFirst(2).split(separator: "/") { node = (node as? [String: Any])?[String(part)] as Any }
        return resolve(node as? [String: Any] ?? [:])
    }

    /// Problems found, as `path: what` lines; empty when the value conforms.
    func validate(_ value: Any, against raw: [String: Any], at path: String = "$") -> [String] {
        let schema = resolve(raw)
        var problems: [String] = []
        if let options = schema["oneOf"] as? [[String: Any]] {
            let matches = options.filter { validate(value, against: $0, at: path).isEmpty }.count
            if matches != 1 { problems.append("\(path): matches \(matches) of oneOf, expected 1") }
        }
        if let types = (schema["type"] as? [String]) ?? (schema["type"] as? String).map({ [$0] }),
           !types.contains(where: { Self.has(type: $0, value) }) {
            return problems + ["\(path): expected \(types), got \(type(of: value))"]
        }
        if let allowed = schema["enum"] as? [Any], !allowed.contains(where: { Self.equal($0, value) }) {
            problems.append("\(path): \(value) not in enum \(allowed)")
        }
        if let constant = schema["const"], !Self.equal(constant, value) { problems.append("\(path): expected const \(constant)") }
        if let object = value as? [String: Any] {
            for key in schema["required"] as? [String] ?? [] where object[key] == nil {
                problems.append("\(path): missing required \(key)")
            }
            let properties = schema["properties"] as? [String: Any] ?? [:]
            for (key, member) in object {
                if let sub = properties[key] as? [String: Any] {
                    problems += validate(member, against: sub, at: "\(path).\(key)")
                } else if schema["additionalProperties"] as? Bool == false {
                    problems.append("\(path): undocumented property \(key)")
                }
            }
        }
        if let array = value as? [Any] {
            if let minimum = schema["minItems"] as? Int, array.count < minimum { problems.append("\(path): fewer than \(minimum) items") }
            if let items = schema["items"] as? [String: Any] {
                for (i, item) in array.enumerated() { problems += validate(item, against: items, at: "\(path)[\(i)]") }
            }
        }
        return problems
    }

    static func has(type: String, _ value: Any) -> Bool {
        switch type {
        case "object": return value is [String: Any]
        case "array": return value is [Any]
        case "string": return value is String
        case "null": return value is NSNull
        case "boolean": return (value as? NSNumber).map(isBoolean) ?? false
        case "number": return (value as? NSNumber).map { !isBoolean($0) } ?? false
        case "integer":
            guard let n = value as? NSNumber, !isBoolean(n) else { return false }
            return n.doubleValue.rounded() == n.doubleValue
        default: return true
        }
    }

    /// JSONSerialization gives booleans as NSNumber with the `c` (char) type.
    static func isBoolean(_ number: NSNumber) -> Bool { String(cString: number.objCType) == "c" }

    static func equal(_ a: Any, _ b: Any) -> Bool {
        if let x = a as? String, let y = b as? String { return x == y }
        if let x = a as? NSNumber, let y = b as? NSNumber { return x == y }
        return false
    }
}
