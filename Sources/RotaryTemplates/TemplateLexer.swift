/// A template's source cut into text and tags, with Jinja's whitespace rules as Hugging Face configures them
/// for chat templates: `trim_blocks` (the first newline after a block or comment tag goes), `lstrip_blocks`
/// (spaces and tabs from the start of a line up to a block or comment tag go), `-` inside a tag (all whitespace
/// on that side goes), `+` (keeps it), and one trailing newline of the source dropped.
enum TemplateChunk: Equatable {
    case text(String)
    case expression(String, line: Int)
    case statement(String, line: Int)
}

enum TemplateLexer {
    static func chunks(_ rawSource: String) throws(TemplateError) -> [TemplateChunk] {
        let source = Array(normalizedLines(rawSource).unicodeScalars)
        var chunks: [TemplateChunk] = []
        var position = 0
        var stripNextText = false     // the previous tag ended with `-`
        var lineStarting = true       // the previous tag's end consumed a newline (or nothing came before)
        var line = 1
        while position < source.count {
            guard let (start, kind) = nextTagStart(source, from: position) else {
                var text = String(String.UnicodeScalarView(source[position...]))
                if stripNextText { text = String(text.drop { $0.isWhitespace }) }
                if !text.isEmpty { chunks.append(.text(text)) }
                break
            }
            var text = String(String.UnicodeScalarView(source[position..<start]))
            if stripNextText { text = String(text.drop { $0.isWhitespace }) }
            let sign = start + 2 < source.count ? source[start + 2] : " "
            if sign == "-" {
                while let last = text.last, last.isWhitespace { text.removeLast() }
            } else if sign != "+", kind != "{" {
                // lstrip_blocks: the tag's line holds only whitespace before it.
                let lineStart = text.lastIndex(of: "\n").map { text.index(after: $0) }
                if lineStart != nil || lineStarting {
                    let from = lineStart ?? text.startIndex
                    if text[from...].allSatisfy({ $0.isWhitespace }) { text.removeSubrange(from...) }
                }
            }
            if !text.isEmpty { chunks.append(.text(text)) }
            line += source[position..<start].reduce(0) { $0 + ($1 == "\n" ? 1 : 0) }
            let bodyStart = start + 2 + (sign == "-" || sign == "+" ? 1 : 0)
            let closer: [Unicode.Scalar] = kind == "{" ? ["}", "}"] : kind == "%" ? ["%", "}"] : ["#", "}"]
            guard let end = tagEnd(source, from: bodyStart, closer: closer, skipStrings: kind != "#") else {
                throw TemplateError("line \(line): a tag opened with '{\(kind)' is never closed")
            }
            let closingSign = end > bodyStart ? source[end - 1] : " "
            let bodyEnd = closingSign == "-" || closingSign == "+" ? end - 1 : end
            let body = String(String.UnicodeScalarView(source[bodyStart..<max(bodyStart, bodyEnd)]))
            switch kind {
            case "{": chunks.append(.expression(body, line: line))
            case "%": chunks.append(.statement(body, line: line))
            default: break
            }
            line += source[start..<end].reduce(0) { $0 + ($1 == "\n" ? 1 : 0) }
            position = end + 2
            stripNextText = closingSign == "-"
            lineStarting = false
            if closingSign == "-" {
                // `-%}` takes every whitespace character after it; the tag ends at a line start when they end in a newline.
                var last: Unicode.Scalar? = nil
                while position < source.count, Character(source[position]).isWhitespace {
                    last = source[position]
                    if source[position] == "\n" { line += 1 }
                    position += 1
                }
                lineStarting = last == "\n"
                stripNextText = false
            } else if closingSign != "+", kind != "{", position < source.count, source[position] == "\n" {
                position += 1   // trim_blocks
                line += 1
                lineStarting = true
            }
        }
        return chunks
    }

    /// Python's `"\n".join(source.splitlines())`, which Jinja applies: line ends become `\n` and one
    /// trailing line end goes.
    static func normalizedLines(_ source: String) -> String {
        var out = String.UnicodeScalarView()
        let scalars = Array(source.unicodeScalars)
        var i = 0
        let separators: Set<UInt32> = [0x0A, 0x0B, 0x0C, 0x0D, 0x1C, 0x1D, 0x1E, 0x85, 0x2028, 0x2029]
        while i < scalars.count {
            let s = scalars[i]
            if separators.contains(s.value) {
                if s.value == 0x0D, i + 1 < scalars.count, scalars[i + 1].value == 0x0A { i += 1 }
                if i + 1 < scalars.count { out.append("\n") }
            } else {
                out.append(s)
            }
            i += 1
        }
        return String(out)
    }

    private static func nextTagStart(_ source: [Unicode.Scalar], from: Int) -> (Int, Unicode.Scalar)? {
        var i = from
        while i + 1 < source.count {
            if source[i] == "{", case let next = source[i + 1], next == "{" || next == "%" || next == "#" {
                return (i, next)
            }
            i += 1
        }
        return nil
    }

    /// Index of the closing delimiter, skipping string literals inside expressions and statements.
    private static func tagEnd(_ source: [Unicode.Scalar], from: Int, closer: [Unicode.Scalar], skipStrings: Bool) -> Int? {
        var i = from
        var quote: Unicode.Scalar? = nil
        while i + 1 < source.count {
            let c = source[i]
            if let q = quote {
                if c == "\\" { i += 2; continue }
                if c == q { quote = nil }
            } else if skipStrings && (c == "'" || c == "\"") {
                quote = c
            } else if c == closer[0] && source[i + 1] == closer[1] {
                return i
            }
            i += 1
        }
        return nil
    }
}
