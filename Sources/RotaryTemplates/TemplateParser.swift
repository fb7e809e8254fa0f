/// Chunks into statements: `if`/`elif`/`else`, `for … in … [if …]`/`else`, `set` (also `ns.attr` and block
/// form), `macro`, `filter`, `generation`, `break`, `continue`. Any other tag is an error naming it.
struct TemplateParser {
    private let chunks: [TemplateChunk]
    private var index = 0

    init(_ chunks: [TemplateChunk]) { self.chunks = chunks }

    static func parse(_ source: String) throws(TemplateError) -> [Statement] {
        var parser = TemplateParser(try TemplateLexer.chunks(source))
        let (body, end) = try parser.block(until: [])
        if let end { throw TemplateError("line \(end.line): '\(end.keyword)' without an opening tag") }
        return body
    }

    /// A closing or continuing tag met by `block`: its keyword and the rest of its tokens.
    struct Boundary {
        var keyword: String
        var parser: ExpressionParser
        var line: Int
    }

    /// Statements up to a tag whose keyword is in `until` (returned), or to the end (nil).
    mutating func block(until: Set<String>) throws(TemplateError) -> ([Statement], Boundary?) {
        var body: [Statement] = []
        while index < chunks.count {
            let chunk = chunks[index]
            index += 1
            switch chunk {
            case .text(let text):
                body.append(.text(text))
            case .expression(let source, let line):
                var parser = ExpressionParser(try ExpressionTokenizer.tokens(source, line: line), line: line)
                let value = try parser.tuple()
                try parser.finish()
                body.append(.output(value))
            case .statement(let source, let line):
                var parser = ExpressionParser(try ExpressionTokenizer.tokens(source, line: line), line: line)
                let keyword = try parser.expectName()
                if until.contains(keyword) { return (body, Boundary(keyword: keyword, parser: parser, line: line)) }
                body.append(try statement(keyword, &parser, line: line))
            }
        }
        if !until.isEmpty {
            throw TemplateError("the template ends inside a block: expected one of \(until.sorted().map { "'\($0)'" }.joined(separator: ", "))")
        }
        return (body, nil)
    }

    private mutating func statement(_ keyword: String, _ parser: inout ExpressionParser, line: Int) throws(TemplateError) -> Statement {
        switch keyword {
        case "if":
            var branches: [(Expression, [Statement])] = []
            var condition = try parser.tuple()
            try parser.finish()
            while true {
                let (body, end) = try block(until: ["elif", "else", "endif"])
                branches.append((condition, body))
                guard var end else { throw TemplateError("line \(line): 'if' is never closed") }
                switch end.keyword {
                case "elif":
                    condition = try end.parser.tuple()
                    try end.parser.finish()
                case "else":
                    try end.parser.finish()
                    let (otherwise, close) = try block(until: ["endif"])
                    guard close != nil else { throw TemplateError("line \(line): 'if' is never closed") }
                    return .conditional(branches, otherwise: otherwise)
                default:
                    return .conditional(branches, otherwise: [])
                }
            }
        case "for":
            var targets = [try parser.expectName()]
            while parser.skip(symbol: ",") { targets.append(try parser.expectName()) }
            guard parser.skip(name: "in") else { throw parser.error("expected 'in' in a for loop") }
            let iterable = try parser.tuple(conditional: false)
            let filter = parser.skip(name: "if") ? try parser.expression() : nil
            if parser.isName("recursive") { throw parser.error("recursive loops are not supported") }
            try parser.finish()
            let (body, end) = try block(until: ["else", "endfor"])
            var otherwise: [Statement] = []
            if end?.keyword == "else" {
                let (elseBody, close) = try block(until: ["endfor"])
                guard close != nil else { throw TemplateError("line \(line): 'for' is never closed") }
                otherwise = elseBody
            }
            return .loop(targets: targets, iterable: iterable, filter: filter, body: body, otherwise: otherwise)
        case "set":
            let target = try assignmentTarget(&parser)
            if parser.skip(symbol: "=") {
                let value = try parser.tuple()
                try parser.finish()
                return .assign(target, value)
            }
            try parser.finish()
            let (body, _) = try block(until: ["endset"])
            return .assignBlock(target, body)
        case "macro":
            let name = try parser.expectName()
            try parser.expect(symbol: "(")
            var parameters: [(String, Expression?)] = []
            while !parser.skip(symbol: ")") {
                if !parameters.isEmpty { try parser.expect(symbol: ",") }
                let parameter = try parser.expectName()
                parameters.append((parameter, parser.skip(symbol: "=") ? try parser.expression() : nil))
            }
            try parser.finish()
            let (body, _) = try block(until: ["endmacro"])
            return .macro(MacroDefinition(name: name, parameters: parameters, body: body))
        case "filter":
            let name = try parser.expectName()
            let arguments = parser.isSymbol("(") ? try parser.arguments().0 : []
            try parser.finish()
            let (body, _) = try block(until: ["endfilter"])
            return .filterBlock(name: name, arguments: arguments, body: body)
        case "generation":
            try parser.finish()
            let (body, _) = try block(until: ["endgeneration"])
            return .generation(body)
        case "break":
            try parser.finish()
            return .breakLoop
        case "continue":
            try parser.finish()
            return .continueLoop
        default:
            throw TemplateError("line \(line): the tag '\(keyword)' is not supported")
        }
    }

    private func assignmentTarget(_ parser: inout ExpressionParser) throws(TemplateError) -> AssignmentTarget {
        let first = try parser.expectName()
        if parser.skip(symbol: ".") { return .attribute(first, try parser.expectName()) }
        var names = [first]
        while parser.skip(symbol: ",") { names.append(try parser.expectName()) }
        return names.count == 1 ? .name(first) : .names(names)
    }
}
