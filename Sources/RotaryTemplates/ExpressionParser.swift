/// Jinja's expression grammar, precedence lowest first: `x if c else y`, `or`, `and`, `not`, comparisons
/// (`==` … `in`, `not in`), `+ -`, `~`, `* / // %`, `**`, unary `- +`, then primaries with `.attr`, `[item]`,
/// `[a:b:c]`, calls, `| filter` and `is test`.
struct ExpressionParser {
    private var tokens: [ExpressionToken]
    private var index = 0
    let line: Int

    init(_ tokens: [ExpressionToken], line: Int) {
        self.tokens = tokens
        self.line = line
    }

    var atEnd: Bool { index >= tokens.count }
    var current: ExpressionToken? { index < tokens.count ? tokens[index] : nil }

    func error(_ message: String) -> TemplateError { TemplateError("line \(line): \(message)") }

    mutating func advance() -> ExpressionToken? {
        defer { index += 1 }
        return current
    }

    func isSymbol(_ symbol: String, offset: Int = 0) -> Bool {
        index + offset < tokens.count && tokens[index + offset] == .symbol(symbol)
    }

    func isName(_ name: String, offset: Int = 0) -> Bool {
        index + offset < tokens.count && tokens[index + offset] == .name(name)
    }

    mutating func skip(symbol: String) -> Bool {
        guard isSymbol(symbol) else { return false }
        index += 1
        return true
    }

    mutating func skip(name: String) -> Bool {
        guard isName(name) else { return false }
        index += 1
        return true
    }

    mutating func expect(symbol: String) throws(TemplateError) {
        guard skip(symbol: symbol) else { throw error("expected '\(symbol)'\(describeCurrent)") }
    }

    mutating func expectName() throws(TemplateError) -> String {
        guard case .name(let name)? = current else { throw error("expected a name\(describeCurrent)") }
        index += 1
        return name
    }

    var describeCurrent: String {
        guard let current else { return " at the end of the tag" }
        switch current {
        case .name(let n): return ", found '\(n)'"
        case .symbol(let s): return ", found '\(s)'"
        case .string(let s): return ", found the string '\(s)'"
        case .integer(let i): return ", found \(i)"
        case .float(let f): return ", found \(f)"
        }
    }

    func finish() throws(TemplateError) {
        if !atEnd { throw error("unexpected token\(describeCurrent)") }
    }

    /// A comma-separated list makes a tuple (`{{ a, b }}`, `set x = 1, 2`); `conditional` false leaves `if`
    /// to the caller (a `for` loop's filter).
    mutating func tuple(conditional: Bool = true) throws(TemplateError) -> Expression {
        var items: [Expression] = []
        var sawComma = false
        repeat {
            if atEnd || isName("if") && !conditional { break }
            items.append(conditional ? try expression() : try or())
            if !skip(symbol: ",") { break }
            sawComma = true
        } while true
        if items.count == 1 && !sawComma { return items[0] }
        return .tuple(items)
    }

    mutating func expression() throws(TemplateError) -> Expression {
        var value = try or()
        while skip(name: "if") {
            let condition = try or()
            let otherwise = skip(name: "else") ? try expression() : nil
            value = .conditional(then: value, condition: condition, otherwise: otherwise)
        }
        return value
    }

    mutating func or() throws(TemplateError) -> Expression {
        var left = try and()
        while skip(name: "or") { left = .or(left, try and()) }
        return left
    }

    mutating func and() throws(TemplateError) -> Expression {
        var left = try not()
        while skip(name: "and") { left = .and(left, try not()) }
        return left
    }

    mutating func not() throws(TemplateError) -> Expression {
        if skip(name: "not") { return .not(try not()) }
        return try compare()
    }

    mutating func compare() throws(TemplateError) -> Expression {
        let first = try sum()
        var rest: [(String, Expression)] = []
        while true {
            if let op = ["==", "!=", "<", ">", "<=", ">="].first(where: { isSymbol($0) }) {
                index += 1
                rest.append((op, try sum()))
            } else if skip(name: "in") {
                rest.append(("in", try sum()))
            } else if isName("not") && isName("in", offset: 1) {
                index += 2
                rest.append(("not in", try sum()))
            } else {
                break
            }
        }
        return rest.isEmpty ? first : .compare(first, rest)
    }

    mutating func sum() throws(TemplateError) -> Expression {
        var left = try concatenation()
        while let op = ["+", "-"].first(where: { isSymbol($0) }) {
            index += 1
            left = .binary(op, left, try concatenation())
        }
        return left
    }

    mutating func concatenation() throws(TemplateError) -> Expression {
        var left = try product()
        while skip(symbol: "~") { left = .binary("~", left, try product()) }
        return left
    }

    mutating func product() throws(TemplateError) -> Expression {
        var left = try power()
        while let op = ["*", "/", "//", "%"].first(where: { isSymbol($0) }) {
            index += 1
            left = .binary(op, left, try power())
        }
        return left
    }

    mutating func power() throws(TemplateError) -> Expression {
        var left = try unary()
        while skip(symbol: "**") { left = .binary("**", left, try unary()) }
        return left
    }

    mutating func unary(withFilters: Bool = true) throws(TemplateError) -> Expression {
        var node: Expression
        if skip(symbol: "-") {
            node = .unary("-", try unary(withFilters: false))
        } else if skip(symbol: "+") {
            node = .unary("+", try unary(withFilters: false))
        } else {
            node = try primary()
        }
        node = try postfix(node)
        return withFilters ? try filters(node) : node
    }

    mutating func primary() throws(TemplateError) -> Expression {
        guard let token = advance() else { throw error("expected a value at the end of the tag") }
        switch token {
        case .name(let name):
            switch name {
            case "true", "True": return .literal(.bool(true))
            case "false", "False": return .literal(.bool(false))
            case "none", "None": return .literal(.none)
            default: return .name(name)
            }
        case .string(var text):
            while case .string(let more)? = current { text += more; index += 1 }   // adjacent literals join
            return .literal(.string(TemplateText(text)))
        case .integer(let i): return .literal(.int(i))
        case .float(let f): return .literal(.double(f))
        case .symbol("("):
            if skip(symbol: ")") { return .tuple([]) }
            let inner = try tuple()
            try expect(symbol: ")")
            return inner
        case .symbol("["):
            var items: [Expression] = []
            while !skip(symbol: "]") {
                if !items.isEmpty { try expect(symbol: ","); if skip(symbol: "]") { break } }
                items.append(try expression())
            }
            return .list(items)
        case .symbol("{"):
            var pairs: [(Expression, Expression)] = []
            while !skip(symbol: "}") {
                if !pairs.isEmpty { try expect(symbol: ","); if skip(symbol: "}") { break } }
                let key = try expression()
                try expect(symbol: ":")
                pairs.append((key, try expression()))
            }
            return .dict(pairs)
        default:
            index -= 1
            throw error("expected a value\(describeCurrent)")
        }
    }

    mutating func postfix(_ start: Expression) throws(TemplateError) -> Expression {
        var node = start
        while true {
            if skip(symbol: ".") {
                switch advance() {
                case .name(let name)?: node = .attribute(node, name)
                case .integer(let i)?: node = .item(node, .literal(.int(i)))
                default: throw error("expected an attribute name after '.'")
                }
            } else if skip(symbol: "[") {
                node = try subscripted(node)
            } else if isSymbol("(") {
                node = try call(node)
            } else {
                return node
            }
        }
    }

    mutating func subscripted(_ node: Expression) throws(TemplateError) -> Expression {
        func part(_ parser: inout ExpressionParser) throws(TemplateError) -> Expression? {
            parser.isSymbol(":") || parser.isSymbol("]") ? nil : try parser.expression()
        }
        let start = try part(&self)
        if skip(symbol: "]") {
            guard let start else { throw error("an empty subscript []") }
            return .item(node, start)
        }
        try expect(symbol: ":")
        let stop = try part(&self)
        var step: Expression? = nil
        if skip(symbol: ":") { step = try part(&self) }
        try expect(symbol: "]")
        return .slice(node, start: start, stop: stop, step: step)
    }

    mutating func arguments() throws(TemplateError) -> ([Expression], [(String, Expression)]) {
        try expect(symbol: "(")
        var positional: [Expression] = []
        var keywords: [(String, Expression)] = []
        while !skip(symbol: ")") {
            if !(positional.isEmpty && keywords.isEmpty) { try expect(symbol: ","); if skip(symbol: ")") { break } }
            if case .name(let name)? = current, isSymbol("=", offset: 1) {
                index += 2
                keywords.append((name, try expression()))
            } else if isSymbol("*") || isSymbol("**") {
                throw error("*args and **kwargs in a call are not supported")
            } else {
                positional.append(try expression())
            }
        }
        return (positional, keywords)
    }

    mutating func call(_ node: Expression) throws(TemplateError) -> Expression {
        let (positional, keywords) = try arguments()
        return .call(node, arguments: positional, keywords: keywords)
    }

    mutating func filters(_ start: Expression) throws(TemplateError) -> Expression {
        var node = start
        while true {
            if skip(symbol: "|") {
                var name = try expectName()
                while skip(symbol: ".") { name += "." + (try expectName()) }
                var positional: [Expression] = [], keywords: [(String, Expression)] = []
                if isSymbol("(") { (positional, keywords) = try arguments() }
                node = .filter(node, name: name, arguments: positional, keywords: keywords)
            } else if skip(name: "is") {
                let negated = skip(name: "not")
                var name = try expectName()
                while skip(symbol: ".") { name += "." + (try expectName()) }
                var positional: [Expression] = []
                if isSymbol("(") {
                    positional = try arguments().0
                } else if let token = current, startsValue(token), !isName("else"), !isName("or"), !isName("and") {
                    positional = [try postfix(try primary())]
                }
                node = .test(node, name: name, arguments: positional, negated: negated)
            } else if isSymbol("(") {
                node = try call(node)
            } else {
                return node
            }
        }
    }

    private func startsValue(_ token: ExpressionToken) -> Bool {
        switch token {
        case .name, .string, .integer, .float: return true
        case .symbol(let s): return s == "(" || s == "[" || s == "{"
        }
    }
}
