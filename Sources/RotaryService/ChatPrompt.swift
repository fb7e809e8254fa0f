import Foundation
import RotaryHTTP
import RotaryJSON
import RotaryModel
import RotaryTemplates

/// A conversation formatted by the model's chat template and tokenized: the template's special tokens are
/// control tokens, the messages' own text is only text (a user typing `<|im_end|>` does not end the turn).
struct ChatPrompt {
    var text: String
    var tokens: [Int]

    /// `messages` checked: objects with a `role` string and a `content` that is a string or an array of text
    /// parts (`{"type": "text", "text": …}`, joined in order), and optionally `name`.
    static func messages(_ value: JSONValue?) throws(HTTPError) -> JSONValue {
        guard case .array(let items)? = value, !items.isEmpty else {
            throw .badRequest("messages must be a non-empty array of {role, content} objects", param: "messages")
        }
        var out: [JSONValue] = []
        for (i, item) in items.enumerated() {
            var reader = try ObjectReader(item, path: "messages[\(i)]")
            guard let role = try reader.string("role") else { throw .badRequest("messages[\(i)].role is required", param: "messages[\(i)].role") }
            var members: [(String, JSONValue)] = [("role", .string(role))]
            switch reader.value("content") {
            case .string(let text)?: members.append(("content", .string(text)))
            case .array(let parts)?:
                var text = ""
                for (k, part) in parts.enumerated() {
                    var partReader = try ObjectReader(part, path: "messages[\(i)].content[\(k)]")
                    guard try partReader.string("type") == "text", let piece = try partReader.string("text") else {
                        throw .badRequest("messages[\(i)].content[\(k)] must be {\"type\": \"text\", \"text\": …} (only text parts are supported)",
                                          param: "messages[\(i)].content[\(k)]")
                    }
                    try partReader.finish()
                    text += piece
                }
                members.append(("content", .string(text)))
            case nil: throw .badRequest("messages[\(i)].content is required", param: "messages[\(i)].content")
            default: throw .badRequest("messages[\(i)].content must be a string or an array of text parts", param: "messages[\(i)].content")
            }
            if let name = try reader.string("name") { members.append(("name", .string(name))) }
            try reader.finish()
            out.append(.object(members))
        }
        return .array(out)
    }

    /// The template: `--chat-template` when given, else the model's `tokenizer.chat_template`; else the 400 that
    /// answers every chat request.
    static func template(for model: LlamaModel, limits: ServiceConfiguration) -> Result<ChatTemplate, HTTPError> {
        guard let source = limits.chatTemplate ?? model.file.value("tokenizer.chat_template")?.string else {
            return .failure(HTTPError(status: 400, type: "no_chat_template",
                                      message: "the model has no chat template (no tokenizer.chat_template in its GGUF): start the server with --chat-template FILE, or use /v1/completions",
                                      param: "messages"))
        }
        do {
            return .success(try ChatTemplate(source))
        } catch {
            return .failure(HTTPError(status: 400, type: "chat_template_error", message: "the chat template cannot be read: \(error.message)", param: nil))
        }
    }

    /// Renders and tokenizes. BOS is added as the vocabulary says unless the template wrote it already.
    static func make(_ messages: JSONValue, addGenerationPrompt: Bool, template: ChatTemplate, tokenizer: any Tokenizer) throws(HTTPError) -> ChatPrompt {
        let bos = tokenizer.bosID.map { tokenizer.piece($0) } ?? ""
        let eos = tokenizer.eosID.map { tokenizer.piece($0) } ?? ""
        let context: [String: TemplateValue] = [
            "messages": TemplateValue(json: messages, fromInput: true),
            "add_generation_prompt": .bool(addGenerationPrompt),
            "bos_token": .text(bos), "eos_token": .text(eos),
        ]
        let rendered: TemplateText
        do {
            rendered = try template.render(context, now: today)
        } catch {
            throw HTTPError(status: 400, type: "chat_template_error", message: "the chat template failed on these messages: \(error.message)",
                            param: "messages")
        }
        // The UTF-8 byte ranges that came from the messages: no control tokens are read there.
        var literal: [Range<Int>] = []
        var offset = 0
        for segment in rendered.segments {
            let count = segment.text.utf8.count
            if segment.fromInput { literal.append(offset..<(offset + count)) }
            offset += count
        }
        let text = rendered.string
        let templateWroteBOS = !bos.isEmpty && text.hasPrefix(bos) && literal.first?.lowerBound != 0
        let tokens = tokenizer.encode(text, addSpecial: !templateWroteBOS, parseSpecial: true, literal: literal)
        return ChatPrompt(text: text, tokens: tokens)
    }

    /// Today in UTC, for `strftime_now` (Llama 3.x templates print the date).
    static func today() -> (day: Int, month: Int, year: Int) {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        let parts = calendar.dateComponents([.day, .month, .year], from: Date())
        return (parts.day ?? 1, parts.month ?? 1, parts.year ?? 1970)
    }
}
