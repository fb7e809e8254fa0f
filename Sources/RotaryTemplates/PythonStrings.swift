import Foundation

/// Python's `str` methods whose rules differ from Foundation's: `split`, `replace`, `title`, `capitalize`,
/// `format` (fields `{}`, `{0}`, `{name}`; `{{`/`}}` escape braces; no format specs).
enum PythonStrings {
    /// `str.strip`/`lstrip`/`rstrip`: whitespace, or any of `characters` when given.
    static func strip(_ text: String, _ characters: String?, leading: Bool, trailing: Bool) -> String {
        let set = characters.map(Set.init)
        let strips: (Character) -> Bool = { set?.contains($0) ?? $0.isWhitespace }
        var out = Substring(text)
        if leading { out = out.drop(while: strips) }
        if trailing { while let last = out.last, strips(last) { out = out.dropLast() } }
        return String(out)
    }

    /// `str.split`/`rsplit` with at most `limit` splits (−1: all). Without a separator, runs of whitespace
    /// separate and none are kept at the ends, but what is left unsplit keeps its whitespace, as Python does.
    static func split(_ text: String, _ separator: String?, limit: Int, fromRight: Bool) -> [String] {
        guard let separator, !separator.isEmpty else {
            let characters = Array(text)
            var words: [Range<Int>] = []
            var i = 0
            while i < characters.count {
                if characters[i].isWhitespace { i += 1; continue }
                let start = i
                while i < characters.count, !characters[i].isWhitespace { i += 1 }
                words.append(start..<i)
            }
            func piece(_ range: Range<Int>) -> String { String(characters[range]) }
            guard limit >= 0, words.count > limit + 1 else { return words.map(piece) }
            if fromRight {
                let kept = words.suffix(limit)
                return [piece(0..<words[words.count - limit - 1].upperBound)] + kept.map(piece)
            }
            return words.prefix(limit).map(piece) + [piece(words[limit].lowerBound..<characters.count)]
        }
        var parts = text.components(separatedBy: separator)
        if limit >= 0 && parts.count > limit + 1 {
            if fromRight {
                parts = [parts[..<(parts.count - limit)].joined(separator: separator)] + parts.suffix(limit)
            } else {
                parts = Array(parts.prefix(limit)) + [parts[limit...].joined(separator: separator)]
            }
        }
        return parts
    }

    static func replace(_ text: String, _ old: String, _ new: String, count: Int) -> String {
        if count < 0 {
            if old.isEmpty { return new + text.map { String($0) + new }.joined() }
            return text.replacingOccurrences(of: old, with: new)
        }
        var parts = text.components(separatedBy: old)
        guard !old.isEmpty, parts.count > 1 else { return text }
        let replaced = min(count, parts.count - 1)
        let head = parts.prefix(replaced + 1).joined(separator: new)
        parts = [head] + parts.dropFirst(replaced + 1)
        return parts.joined(separator: old)
    }

    static func title(_ text: String) -> String {
        var out = ""
        var previousCased = false
        for character in text {
            out += previousCased ? character.lowercased() : character.uppercased()
            previousCased = character.isLetter
        }
        return out
    }

    static func capitalize(_ text: String) -> String {
        guard let first = text.first else { return text }
        return first.uppercased() + text.dropFirst().lowercased()
    }

    static func format(_ template: TemplateText, _ positional: [TemplateValue], _ keywords: [(String, TemplateValue)]) throws(TemplateError) -> TemplateText {
        let characters = Array(template.string)
        var out = TemplateText()
        var literal = ""
        var automatic = 0
        var i = 0
        func flush() { if !literal.isEmpty { out.append(template.derived(literal)); literal = "" } }
        while i < characters.count {
            let c = characters[i]
            if c == "{", i + 1 < characters.count, characters[i + 1] == "{" { literal.append("{"); i += 2; continue }
            if c == "}", i + 1 < characters.count, characters[i + 1] == "}" { literal.append("}"); i += 2; continue }
            guard c == "{" else { literal.append(c); i += 1; continue }
            guard let close = characters[i...].firstIndex(of: "}") else { throw TemplateError("format: a '{' is never closed") }
            let field = String(characters[(i + 1)..<close])
            if field.contains(":") || field.contains("!") { throw TemplateError("format: the field '{\(field)}' has a spec, which is not supported") }
            let value: TemplateValue
            if field.isEmpty {
                guard automatic < positional.count else { throw TemplateError("format: not enough arguments") }
                value = positional[automatic]
                automatic += 1
            } else if let index = Int(field) {
                guard index < positional.count else { throw TemplateError("format: no argument \(index)") }
                value = positional[index]
            } else {
                guard let named = keywords.first(where: { $0.0 == field })?.1 else { throw TemplateError("format: no argument '\(field)'") }
                value = named
            }
            flush()
            out.append(value.text)
            i = close + 1
        }
        flush()
        return out
    }
}
