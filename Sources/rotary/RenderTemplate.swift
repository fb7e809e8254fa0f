import ArgumentParser
import Foundation
import RotaryJSON
import RotaryTemplates

/// `rotary render-template`: chat templates rendered by Rotary's Jinja interpreter, for comparison with
/// Python's jinja2 (scripts/templates/compare.py). Reads `{"cases": [{"template": FILE, "context": {...}}]}` on
/// standard input and writes one JSON line per case: `{"output": TEXT}` or `{"error": MESSAGE}`.
struct RenderTemplate: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "render-template",
        abstract: "Render chat templates with JSON contexts read from standard input (one JSON line of output per case).")

    @Option(help: "The date strftime_now gives, YYYY-MM-DD (default: none given, as a template without it expects).")
    var date: String?

    func run() throws {
        var today: (day: Int, month: Int, year: Int)? = nil
        if let date {
            let parts = date.split(separator: "-").compactMap { Int($0) }
            guard parts.count == 3, (1...12).contains(parts[1]), (1...31).contains(parts[2]) else { throw ValidationError("--date takes YYYY-MM-DD") }
            today = (parts[2], parts[1], parts[0])
        }
        let input = FileHandle.standardInput.readDataToEndOfFile()
        let document = try JSONParser(maxDepth: 256).parse([UInt8](input))
        guard case .array(let cases)? = document["cases"] else { throw ValidationError("expected {\"cases\": [...]}") }
        var parsed: [String: Result<ChatTemplate, TemplateError>] = [:]
        for item in cases {
            guard case .string(let path)? = item["template"], case .object(let members)? = item["context"] else {
                throw ValidationError("each case needs \"template\" (a file) and \"context\" (an object)")
            }
            if parsed[path] == nil {
                let source = try String(contentsOfFile: path, encoding: .utf8)
                do { parsed[path] = .success(try ChatTemplate(source)) } catch { parsed[path] = .failure(error) }
            }
            var writer = JSONWriter()
            writer.raw("{")
            do {
                let template = try parsed[path]!.get()
                // The conversation is the caller's data; the other variables (tokens, flags) are the server's.
                let context = Dictionary(uniqueKeysWithValues: members.map { ($0.0, TemplateValue(json: $0.1, fromInput: $0.0 == "messages")) })
                let text = try template.render(context, now: today.map { fixed in { fixed } })
                writer.key("output"); writer.string(text.string)
            } catch {
                writer.key("error"); writer.string(error.message)
            }
            writer.raw("}")
            FileHandle.standardOutput.write(Data(writer.bytes + [UInt8(ascii: "\n")]))
        }
    }
}
