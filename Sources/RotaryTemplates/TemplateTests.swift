/// Jinja's tests (`x is defined`, `x is string`, …) with its answers for undefined values: an undefined value
/// is iterable and a sequence (of nothing) but not a mapping.
enum TemplateTests {
    static func apply(_ name: String, _ value: TemplateValue, _ arguments: [TemplateValue]) throws(TemplateError) -> Bool {
        func argument() throws(TemplateError) -> TemplateValue {
            guard let first = arguments.first else { throw TemplateError("the test '\(name)' needs an argument") }
            return first
        }
        switch name {
        case "defined": return !value.isUndefined
        case "undefined": return value.isUndefined
        case "none": if case .none = value { return true }; return false
        case "string": if case .string = value { return true }; return false
        case "mapping": if case .dict = value { return true }; return false
        case "iterable", "sequence":
            switch value {
            case .undefined, .string, .list, .tuple, .dict: return true
            default: return false
            }
        case "number": return value.number != nil
        case "integer": if case .int = value { return true }; return false
        case "float": if case .double = value { return true }; return false
        case "boolean": if case .bool = value { return true }; return false
        case "true": if case .bool(true) = value { return true }; return false
        case "false": if case .bool(false) = value { return true }; return false
        case "callable": if case .function = value { return true }; return false
        case "equalto", "eq", "==": return TemplateValue.equal(value, try argument())
        case "ne", "!=": return !TemplateValue.equal(value, try argument())
        case "lt", "<": return try TemplateArithmetic.compare("<", value, try argument())
        case "le", "<=": return try TemplateArithmetic.compare("<=", value, try argument())
        case "gt", ">", "greaterthan": return try TemplateArithmetic.compare(">", value, try argument())
        case "ge", ">=": return try TemplateArithmetic.compare(">=", value, try argument())
        case "in": return try TemplateArithmetic.contains(try argument(), value)
        case "odd", "even":
            guard let i = value.integer else { throw TemplateError("the test '\(name)' needs an integer") }
            return (i % 2 != 0) == (name == "odd")
        case "divisibleby":
            guard let i = value.integer, let d = try argument().integer, d != 0 else { throw TemplateError("divisibleby needs integers") }
            return i % d == 0
        case "sameas":
            let other = try argument()
            switch (value, other) {
            case (.none, .none): return true
            case (.bool(let x), .bool(let y)): return x == y
            case (.namespace(let x), .namespace(let y)): return x === y
            default: return false
            }
        case "lower": return value.stringValue.map { $0 == $0.lowercased() } ?? false
        case "upper": return value.stringValue.map { $0 == $0.uppercased() } ?? false
        default: throw TemplateError("the test '\(name)' is not supported")
        }
    }
}
