import Foundation

/// `.attr`, `[item]`, slices and the methods of strings, dicts and lists, as Jinja's immutable sandbox allows
/// them: methods that change a list or dict (`append`, `pop`, `update`…) are refused when called.
enum TemplateAccess {
    static let unsafeMethods: Set<String> = ["append", "pop", "insert", "extend", "remove", "sort", "reverse", "clear",
                                             "update", "setdefault", "popitem", "add", "discard"]

    static func attribute(_ value: TemplateValue, _ name: String) throws(TemplateError) -> TemplateValue {
        switch value {
        case .undefined(let base): throw TemplateError("'\(base)' is undefined (its attribute '\(name)' was read)")
        case .dict(let pairs):
            if let method = dictMethod(pairs, name) { return .function(method) }
            return lookup(pairs, .text(name)) ?? .undefined(name)
        case .string(let s): return stringMethod(s, name).map { .function($0) } ?? .undefined(name)
        case .list(let items), .tuple(let items):
            if let method = listMethod(items, name, typeName: value.typeName) { return .function(method) }
            return .undefined(name)
        case .namespace(let namespace): return namespace[name] ?? .undefined(name)
        default: return .undefined(name)
        }
    }

    static func item(_ value: TemplateValue, _ key: TemplateValue) throws(TemplateError) -> TemplateValue {
        switch value {
        case .undefined(let base): throw TemplateError("'\(base)' is undefined (an item of it was read)")
        case .dict(let pairs):
            if let found = lookup(pairs, key) { return found }
            if case .string(let name) = key { return try attribute(value, name.string) }
            return .undefined("item")
        case .list(let items), .tuple(let items):
            guard let i = key.integer else {
                if case .string(let name) = key { return try attribute(value, name.string) }
                throw TemplateError("list indices must be integers, not \(key.typeName)")
            }
            let index = i < 0 ? items.count + i : i
            return items.indices.contains(index) ? items[index] : .undefined("item \(i)")
        case .string(let s):
            guard let i = key.integer else {
                if case .string(let name) = key { return try attribute(value, name.string) }
                throw TemplateError("string indices must be integers")
            }
            let characters = Array(s.string)
            let index = i < 0 ? characters.count + i : i
            return characters.indices.contains(index) ? .string(s.derived(String(characters[index]))) : .undefined("item \(i)")
        case .namespace(let namespace):
            if case .string(let name) = key { return namespace[name.string] ?? .undefined(name.string) }
            return .undefined("item")
        default: return .undefined("item")
        }
    }

    static func lookup(_ pairs: [(TemplateValue, TemplateValue)], _ key: TemplateValue) -> TemplateValue? {
        pairs.first { TemplateValue.equal($0.0, key) }?.1
    }

    /// Python's slice rules (negative indices count from the end; a negative step walks backwards).
    static func slice(_ value: TemplateValue, _ start: Int?, _ stop: Int?, _ step: Int?) throws(TemplateError) -> TemplateValue {
        func indices(_ count: Int) throws(TemplateError) -> [Int] {
            let step = step ?? 1
            guard step != 0 else { throw TemplateError("slice step cannot be zero") }
            func clamp(_ i: Int?, _ fallback: Int, low: Int, high: Int) -> Int {
                guard var i else { return fallback }
                if i < 0 { i += count }
                return min(max(i, low), high)
            }
            if step > 0 {
                let from = clamp(start, 0, low: 0, high: count), to = clamp(stop, count, low: 0, high: count)
                return Array(stride(from: from, to: to, by: step))
            }
            let from = clamp(start, count - 1, low: -1, high: count - 1), to = clamp(stop, -1, low: -1, high: count - 1)
            return Array(stride(from: from, to: to, by: step))
        }
        switch value {
        case .list(let items): return .list(try indices(items.count).map { items[$0] })
        case .tuple(let items): return .tuple(try indices(items.count).map { items[$0] })
        case .string(let s):
            let characters = Array(s.string)
            return .string(s.derived(String(try indices(characters.count).map { characters[$0] })))
        case .undefined(let base): throw TemplateError("'\(base)' is undefined (it was sliced)")
        default: throw TemplateError("'\(value.typeName)' object is not subscriptable")
        }
    }

    private static func function(_ name: String, _ body: @escaping ([TemplateValue], [(String, TemplateValue)]) throws(TemplateError) -> TemplateValue) -> TemplateFunction {
        TemplateFunction(name: name, call: body)
    }

    private static func refused(_ name: String, _ typeName: String) -> TemplateFunction {
        function(name) { _, _ throws(TemplateError) in
            throw TemplateError("access to attribute '\(name)' of '\(typeName)' object is unsafe (the sandbox keeps data immutable)")
        }
    }

    static func dictMethod(_ pairs: [(TemplateValue, TemplateValue)], _ name: String) -> TemplateFunction? {
        switch name {
        case "get":
            return function(name) { args, _ throws(TemplateError) in
                guard let key = args.first else { throw TemplateError("get expected at least 1 argument") }
                return lookup(pairs, key) ?? (args.count > 1 ? args[1] : .none)
            }
        case "items": return function(name) { _, _ in .list(pairs.map { .tuple([$0.0, $0.1]) }) }
        case "keys": return function(name) { _, _ in .list(pairs.map(\.0)) }
        case "values": return function(name) { _, _ in .list(pairs.map(\.1)) }
        default: return unsafeMethods.contains(name) ? refused(name, "dict") : nil
        }
    }

    static func listMethod(_ items: [TemplateValue], _ name: String, typeName: String) -> TemplateFunction? {
        switch name {
        case "index":
            return function(name) { args, _ throws(TemplateError) in
                guard let wanted = args.first, let i = items.firstIndex(where: { TemplateValue.equal($0, wanted) }) else {
                    throw TemplateError("list.index: the value is not in the list")
                }
                return .int(i)
            }
        case "count":
            return function(name) { args, _ in .int(items.filter { TemplateValue.equal($0, args.first ?? .none) }.count) }
        default: return unsafeMethods.contains(name) ? refused(name, typeName) : nil
        }
    }

    static func stringMethod(_ s: TemplateText, _ name: String) -> TemplateFunction? {
        let text = s.string
        func argument(_ args: [TemplateValue], _ i: Int) -> String? { i < args.count ? args[i].stringValue : nil }
        switch name {
        case "strip", "lstrip", "rstrip":
            return function(name) { args, _ in
                .string(s.derived(PythonStrings.strip(text, argument(args, 0), leading: name != "rstrip", trailing: name != "lstrip")))
            }
        case "split", "rsplit":
            return function(name) { args, keywords in
                let separator = argument(args, 0) ?? keywords.first { $0.0 == "sep" }?.1.stringValue
                let limit = (args.count > 1 ? args[1].integer : keywords.first { $0.0 == "maxsplit" }?.1.integer) ?? -1
                return .list(PythonStrings.split(text, separator, limit: limit, fromRight: name == "rsplit").map { .string(s.derived($0)) })
            }
        case "startswith", "endswith":
            return function(name) { args, _ in
                let candidates: [String]
                if case .tuple(let options)? = args.first { candidates = options.compactMap(\.stringValue) } else { candidates = [argument(args, 0) ?? ""] }
                return .bool(candidates.contains { name == "startswith" ? text.hasPrefix($0) : text.hasSuffix($0) })
            }
        case "upper": return function(name) { _, _ in .string(s.derived(text.uppercased())) }
        case "lower": return function(name) { _, _ in .string(s.derived(text.lowercased())) }
        case "title": return function(name) { _, _ in .string(s.derived(PythonStrings.title(text))) }
        case "capitalize": return function(name) { _, _ in .string(s.derived(PythonStrings.capitalize(text))) }
        case "replace":
            return function(name) { args, _ in
                let old = argument(args, 0) ?? "", new = argument(args, 1) ?? ""
                let count = args.count > 2 ? args[2].integer ?? -1 : -1
                return .string(TemplateText(PythonStrings.replace(text, old, new, count: count), fromInput: s.hasInput || args.dropFirst().first?.containsInput == true))
            }
        case "find", "rfind":
            return function(name) { args, _ in
                let needle = argument(args, 0) ?? ""
                let range = name == "find" ? text.range(of: needle) : text.range(of: needle, options: .backwards)
                return .int(range.map { text.distance(from: text.startIndex, to: $0.lowerBound) } ?? -1)
            }
        case "count":
            return function(name) { args, _ in
                let needle = argument(args, 0) ?? ""
                return .int(needle.isEmpty ? text.count + 1 : text.components(separatedBy: needle).count - 1)
            }
        case "join":
            return function(name) { args, _ throws(TemplateError) in
                var out = TemplateText()
                for (i, item) in (try (args.first ?? .list([])).iterated()).enumerated() {
                    if i > 0 { out.append(s) }
                    out.append(item.text)
                }
                return .string(out)
            }
        case "splitlines": return function(name) { _, _ in .list(text.split(omittingEmptySubsequences: false) { $0.isNewline }.map { .string(s.derived(String($0))) }) }
        case "isdigit": return function(name) { _, _ in .bool(!text.isEmpty && text.allSatisfy(\.isNumber)) }
        case "isspace": return function(name) { _, _ in .bool(!text.isEmpty && text.allSatisfy(\.isWhitespace)) }
        case "isalpha": return function(name) { _, _ in .bool(!text.isEmpty && text.allSatisfy(\.isLetter)) }
        case "format": return function(name) { args, keywords throws(TemplateError) in .string(try PythonStrings.format(s, args, keywords)) }
        default: return nil
        }
    }
}
