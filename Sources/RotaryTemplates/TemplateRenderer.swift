/// Runs parsed statements. Scopes follow Jinja: a `for` body starts each iteration from the enclosing scope
/// (what it sets is gone after the iteration), `if` has no scope of its own, a macro sees the template's
/// top level and its arguments; namespaces are shared by reference.
final class TemplateRenderer {
    enum Flow { case normal, breakLoop, continueLoop }

    private var scopes: [[String: TemplateValue]]
    private let globals: [String: TemplateValue]
    private var outputs: [TemplateText] = [TemplateText()]
    private var depth = 0
    /// Macro calls nested deeper than this stop the render (a template that recurses without end).
    static let maximumDepth = 64

    init(context: [String: TemplateValue], globals: [String: TemplateValue]) {
        scopes = [context]
        self.globals = globals
    }

    func render(_ statements: [Statement]) throws(TemplateError) -> TemplateText {
        _ = try run(statements)
        return outputs[0]
    }

    private func emit(_ text: TemplateText) { outputs[outputs.count - 1].append(text) }

    private func captured(_ statements: [Statement]) throws(TemplateError) -> TemplateText {
        outputs.append(TemplateText())
        defer { outputs.removeLast() }
        _ = try run(statements)
        return outputs[outputs.count - 1]
    }

    private func run(_ statements: [Statement]) throws(TemplateError) -> Flow {
        for statement in statements {
            let flow = try execute(statement)
            if flow != .normal { return flow }
        }
        return .normal
    }

    private func execute(_ statement: Statement) throws(TemplateError) -> Flow {
        switch statement {
        case .text(let text):
            emit(TemplateText(text))
        case .output(let expression):
            emit(try evaluate(expression).text)
        case .conditional(let branches, let otherwise):
            for (condition, body) in branches where try evaluate(condition).truthy { return try run(body) }
            return try run(otherwise)
        case .loop(let targets, let iterable, let filter, let body, let otherwise):
            return try loop(targets: targets, iterable: iterable, filter: filter, body: body, otherwise: otherwise)
        case .assign(let target, let expression):
            try assign(target, try evaluate(expression))
        case .assignBlock(let target, let body):
            try assign(target, .string(try captured(body)))
        case .macro(let definition):
            scopes[scopes.count - 1][definition.name] = .function(macro(definition))
        case .filterBlock(let name, let arguments, let body):
            let text = TemplateValue.string(try captured(body))
            let values = try arguments.map { (argument) throws(TemplateError) in try evaluate(argument) }
            emit(try TemplateFilters.apply(name, to: text, values, [], renderer: self).text)
        case .generation(let body):
            return try run(body)
        case .breakLoop:
            return .breakLoop
        case .continueLoop:
            return .continueLoop
        }
        return .normal
    }

    private func loop(targets: [String], iterable: Expression, filter: Expression?, body: [Statement],
                      otherwise: [Statement]) throws(TemplateError) -> Flow {
        var items = try evaluate(iterable).iterated()
        if let filter {
            var kept: [TemplateValue] = []
            for item in items {
                scopes.append(try bind(targets, item))
                let keep = try evaluate(filter).truthy
                scopes.removeLast()
                if keep { kept.append(item) }
            }
            items = kept
        }
        if items.isEmpty { return try run(otherwise) }
        for (index, item) in items.enumerated() {
            var scope = try bind(targets, item)
            var info: [(TemplateValue, TemplateValue)] = [
                (.text("index"), .int(index + 1)), (.text("index0"), .int(index)),
                (.text("revindex"), .int(items.count - index)), (.text("revindex0"), .int(items.count - index - 1)),
                (.text("first"), .bool(index == 0)), (.text("last"), .bool(index == items.count - 1)),
                (.text("length"), .int(items.count)), (.text("depth"), .int(1)), (.text("depth0"), .int(0)),
            ]
            if index > 0 { info.append((.text("previtem"), items[index - 1])) }
            if index + 1 < items.count { info.append((.text("nextitem"), items[index + 1])) }
            scope["loop"] = .dict(info)
            scopes.append(scope)
            let flow = try run(body)
            scopes.removeLast()
            if flow == .breakLoop { break }
        }
        return .normal
    }

    private func bind(_ targets: [String], _ item: TemplateValue) throws(TemplateError) -> [String: TemplateValue] {
        if targets.count == 1 { return [targets[0]: item] }
        let parts = try item.iterated()
        guard parts.count == targets.count else {
            throw TemplateError("cannot unpack \(parts.count) values into \(targets.count) names")
        }
        return Dictionary(uniqueKeysWithValues: zip(targets, parts))
    }

    private func assign(_ target: AssignmentTarget, _ value: TemplateValue) throws(TemplateError) {
        switch target {
        case .name(let name):
            scopes[scopes.count - 1][name] = value
        case .names(let names):
            for (name, part) in try bind(names, value) { scopes[scopes.count - 1][name] = part }
        case .attribute(let name, let attribute):
            guard case .namespace(let namespace) = lookup(name) else {
                throw TemplateError("cannot assign attribute on non-namespace object '\(name)'")
            }
            namespace[attribute] = value
        }
    }

    func lookup(_ name: String) -> TemplateValue {
        for scope in scopes.reversed() { if let value = scope[name] { return value } }
        return globals[name] ?? .undefined(name)
    }

    private func macro(_ definition: MacroDefinition) -> TemplateFunction {
        TemplateFunction(name: definition.name) { [unowned self] positional, keywords throws(TemplateError) in
            var scope: [String: TemplateValue] = [:]
            var extra: [TemplateValue] = []
            for (i, value) in positional.enumerated() {
                if i < definition.parameters.count { scope[definition.parameters[i].0] = value } else { extra.append(value) }
            }
            var unknown: [(TemplateValue, TemplateValue)] = []
            for (name, value) in keywords {
                if definition.parameters.contains(where: { $0.0 == name }) { scope[name] = value } else { unknown.append((.text(name), value)) }
            }
            guard depth < Self.maximumDepth else { throw TemplateError("macro '\(definition.name)' nests more than \(Self.maximumDepth) calls deep") }
            scope["varargs"] = .tuple(extra)
            scope["kwargs"] = .dict(unknown)
            let saved = scopes
            depth += 1
            defer { scopes = saved; depth -= 1 }
            // Defaults are evaluated in the macro's own scope, in order: one may use the parameters before it.
            scopes = [saved[0], scope]
            for (name, fallback) in definition.parameters where scopes[1][name] == nil {
                scopes[1][name] = try fallback.map { (expression) throws(TemplateError) in try evaluate(expression) } ?? .undefined(name)
            }
            return .string(try captured(definition.body))
        }
    }

    // MARK: expressions

    func evaluate(_ expression: Expression) throws(TemplateError) -> TemplateValue {
        switch expression {
        case .literal(let value): return value
        case .name(let name): return lookup(name)
        case .list(let items): return .list(try items.map { (item) throws(TemplateError) in try evaluate(item) })
        case .tuple(let items): return .tuple(try items.map { (item) throws(TemplateError) in try evaluate(item) })
        case .dict(let pairs):
            var out: [(TemplateValue, TemplateValue)] = []
            for (keyExpression, valueExpression) in pairs {
                let key = try evaluate(keyExpression), value = try evaluate(valueExpression)
                if let i = out.firstIndex(where: { TemplateValue.equal($0.0, key) }) { out[i].1 = value } else { out.append((key, value)) }
            }
            return .dict(out)
        case .attribute(let base, let name): return try TemplateAccess.attribute(try evaluate(base), name)
        case .item(let base, let key): return try TemplateAccess.item(try evaluate(base), try evaluate(key))
        case .slice(let base, let start, let stop, let step):
            func bound(_ e: Expression?) throws(TemplateError) -> Int? {
                guard let e else { return nil }
                let value = try evaluate(e)
                if case .none = value { return nil }
                guard let i = value.integer else { throw TemplateError("slice indices must be integers") }
                return i
            }
            return try TemplateAccess.slice(try evaluate(base), try bound(start), try bound(stop), try bound(step))
        case .call(let callee, let arguments, let keywords):
            let function = try evaluate(callee)
            let values = try arguments.map { (argument) throws(TemplateError) in try evaluate(argument) }
            var named: [(String, TemplateValue)] = []
            for (name, argument) in keywords { named.append((name, try evaluate(argument))) }
            switch function {
            case .function(let f): return try f.call(values, named)
            case .undefined(let name): throw TemplateError("'\(name)' is undefined (called as a function)")
            default: throw TemplateError("'\(function.typeName)' object is not callable")
            }
        case .filter(let base, let name, let arguments, let keywords):
            let value = try evaluate(base)
            let values = try arguments.map { (argument) throws(TemplateError) in try evaluate(argument) }
            var named: [(String, TemplateValue)] = []
            for (key, argument) in keywords { named.append((key, try evaluate(argument))) }
            return try TemplateFilters.apply(name, to: value, values, named, renderer: self)
        case .test(let base, let name, let arguments, let negated):
            let value = try evaluate(base)
            let values = try arguments.map { (argument) throws(TemplateError) in try evaluate(argument) }
            return .bool(try TemplateTests.apply(name, value, values) != negated)
        case .unary(let op, let operand):
            let value = try evaluate(operand)
            if op == "+" { guard value.number != nil else { throw TemplateError("bad operand for unary +: '\(value.typeName)'") }; return value }
            switch value {
            case .int(let i): return .int(-i)
            case .bool(let b): return .int(b ? -1 : 0)
            case .double(let d): return .double(-d)
            default: throw TemplateError("bad operand for unary -: '\(value.typeName)'")
            }
        case .binary(let op, let left, let right):
            return try TemplateArithmetic.apply(op, try evaluate(left), try evaluate(right))
        case .compare(let first, let rest):
            var left = try evaluate(first)
            for (op, operand) in rest {
                let right = try evaluate(operand)
                guard try TemplateArithmetic.compare(op, left, right) else { return .bool(false) }
                left = right
            }
            return .bool(true)
        case .and(let left, let right):
            let value = try evaluate(left)
            return value.truthy ? try evaluate(right) : value
        case .or(let left, let right):
            let value = try evaluate(left)
            return value.truthy ? value : try evaluate(right)
        case .not(let operand):
            return .bool(!(try evaluate(operand).truthy))
        case .conditional(let then, let condition, let otherwise):
            if try evaluate(condition).truthy { return try evaluate(then) }
            return try otherwise.map { (e) throws(TemplateError) in try evaluate(e) } ?? .undefined("conditional")
        }
    }
}
