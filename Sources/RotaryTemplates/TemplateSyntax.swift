/// The parsed form of a template: statements and expressions of the Jinja subset chat templates use.
indirect enum Expression {
    case literal(TemplateValue)
    case name(String)
    case list([Expression])
    case tuple([Expression])
    case dict([(Expression, Expression)])
    case attribute(Expression, String)
    case item(Expression, Expression)
    case slice(Expression, start: Expression?, stop: Expression?, step: Expression?)
    case call(Expression, arguments: [Expression], keywords: [(String, Expression)])
    case filter(Expression, name: String, arguments: [Expression], keywords: [(String, Expression)])
    case test(Expression, name: String, arguments: [Expression], negated: Bool)
    case unary(String, Expression)
    case binary(String, Expression, Expression)
    case compare(Expression, [(String, Expression)])
    case and(Expression, Expression)
    case or(Expression, Expression)
    case not(Expression)
    case conditional(then: Expression, condition: Expression, otherwise: Expression?)
}

/// Where a `set` stores: a name, names unpacked from a sequence, or an attribute of a namespace.
enum AssignmentTarget {
    case name(String)
    case names([String])
    case attribute(String, String)
}

struct MacroDefinition {
    var name: String
    var parameters: [(String, Expression?)]
    var body: [Statement]
}

indirect enum Statement {
    case text(String)
    case output(Expression)
    case conditional([(Expression, [Statement])], otherwise: [Statement])
    case loop(targets: [String], iterable: Expression, filter: Expression?, body: [Statement], otherwise: [Statement])
    case assign(AssignmentTarget, Expression)
    case assignBlock(AssignmentTarget, [Statement])
    case macro(MacroDefinition)
    case filterBlock(name: String, arguments: [Expression], body: [Statement])
    /// `{% generation %}` (Hugging Face's marker of assistant text): renders its body unchanged.
    case generation([Statement])
    case breakLoop
    case continueLoop
}

/// A template that cannot be parsed or run; `construct` names the part at fault (a filter, a tag, a method).
public struct TemplateError: Error, CustomStringConvertible, Sendable {
    public var message: String
    public var description: String { message }
    init(_ message: String) { self.message = message }
}
