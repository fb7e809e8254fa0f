import RotaryJSON

/// A chat template (`tokenizer.chat_template`): a Jinja program run as Hugging Face runs it — `trim_blocks`,
/// `lstrip_blocks`, loop controls, an immutable sandbox, `raise_exception`, `tojson` without ASCII escaping.
public struct ChatTemplate: @unchecked Sendable {
    private let statements: [Statement]
    public let source: String

    public init(_ source: String) throws(TemplateError) {
        self.source = source
        statements = try TemplateParser.parse(source)
    }

    /// Renders with `context` (e.g. `messages`, `add_generation_prompt`, `bos_token`): strings inside the
    /// values marked `fromInput` come back marked, so a caller can tell the template's text from the data's.
    /// `strftime_now` is given when `now` is, as llama.cpp and Hugging Face do (Llama 3.x date lines).
    public func render(_ context: [String: TemplateValue], now: (() -> (day: Int, month: Int, year: Int))? = nil) throws(TemplateError) -> TemplateText {
        var globals = TemplateGlobals.standard
        if let now {
            globals["strftime_now"] = .function(TemplateFunction(name: "strftime_now") { args, _ throws(TemplateError) in
                guard let format = args.first?.stringValue else { throw TemplateError("strftime_now needs a format string") }
                return .text(TemplateGlobals.strftime(format, now()))
            })
        }
        return try TemplateRenderer(context: context, globals: globals).render(statements)
    }
}

extension TemplateValue {
    /// A JSON document as template data; strings are marked as the caller's input when `fromInput`. Numbers
    /// that are whole and within Int's range become ints (JSON does not tell `1` from `1.0`).
    public init(json: JSONValue, fromInput: Bool) {
        switch json {
        case .null: self = .none
        case .bool(let b): self = .bool(b)
        case .number(let d): self = TemplateValue.number(d)
        case .numbers(let values): self = .list(values.map(TemplateValue.number))
        case .string(let s): self = .string(TemplateText(s, fromInput: fromInput))
        case .array(let items): self = .list(items.map { TemplateValue(json: $0, fromInput: fromInput) })
        case .object(let members): self = .dict(members.map { (.text($0.0), TemplateValue(json: $0.1, fromInput: fromInput)) })
        }
    }

    static func number(_ d: Double) -> TemplateValue {
        d == d.rounded() && abs(d) < 9.0e15 ? .int(Int(d)) : .double(d)
    }
}

/// Jinja's global functions that chat templates call: `raise_exception`, `namespace`, `range`, `dict`.
enum TemplateGlobals {
    static let standard: [String: TemplateValue] = [
        "raise_exception": .function(TemplateFunction(name: "raise_exception") { args, _ throws(TemplateError) in
            throw TemplateError("the template raised an exception: \(args.first?.text.string ?? "")")
        }),
        "namespace": .function(TemplateFunction(name: "namespace") { args, keywords throws(TemplateError) in
            var attributes: [(String, TemplateValue)] = []
            if case .dict(let pairs)? = args.first {
                for (key, value) in pairs { if let name = key.stringValue { attributes.append((name, value)) } }
            }
            attributes += keywords
            return .namespace(NamespaceObject(attributes))
        }),
        "range": .function(TemplateFunction(name: "range") { args, _ throws(TemplateError) in
            let numbers = args.compactMap(\.integer)
            guard numbers.count == args.count, (1...3).contains(numbers.count) else { throw TemplateError("range expects 1 to 3 integers") }
            let (start, stop, step) = numbers.count == 1 ? (0, numbers[0], 1) : (numbers[0], numbers[1], numbers.count == 3 ? numbers[2] : 1)
            guard step != 0 else { throw TemplateError("range() arg 3 must not be zero") }
            guard abs((stop - start) / step) <= 100_000 else { throw TemplateError("range() of more than 100,000 items") }
            return .list(stride(from: start, to: stop, by: step).map { .int($0) })
        }),
        "dict": .function(TemplateFunction(name: "dict") { _, keywords in .dict(keywords.map { (.text($0.0), $0.1) }) }),
    ]

    static let monthNames = ["January", "February", "March", "April", "May", "June", "July", "August", "September",
                             "October", "November", "December"]

    /// The `strftime` fields date lines use: `%d %b %B %m %Y %y %%`.
    static func strftime(_ format: String, _ date: (day: Int, month: Int, year: Int)) -> String {
        var out = ""
        var characters = Substring(format)
        while let c = characters.popFirst() {
            guard c == "%", let field = characters.popFirst() else { out.append(c); continue }
            switch field {
            case "d": out += date.day < 10 ? "0\(date.day)" : "\(date.day)"
            case "m": out += date.month < 10 ? "0\(date.month)" : "\(date.month)"
            case "Y": out += "\(date.year)"
            case "y": out += String(format: "%02d", date.year % 100)
            case "b": out += String(monthNames[date.month - 1].prefix(3))
            case "B": out += monthNames[date.month - 1]
            case "%": out += "%"
            default: out += "%" + String(field)
            }
        }
        return out
    }
}
