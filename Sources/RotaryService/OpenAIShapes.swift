import RotaryHTTP
import RotaryJSON
import RotaryModel
#if canImport(Glibc)
import Glibc
#endif

/// What `/v1/completions` and `/v1/chat/completions` share: OpenAI's sampling fields, `stop`, the object
/// header every answer and chunk begins with, and `finish_reason`.
enum OpenAIShapes {
    /// `temperature` and `top_p` (OpenAI's defaults, 1), `seed`, `n` (must be 1), `user` (ignored), and the
    /// penalties, accepted at their neutral 0 only. OpenAI has no top-k or min-p: both off.
    static func sampling(_ reader: inout ObjectReader) throws(HTTPError) -> SamplingParameters {
        var sampling = SamplingParameters()
        sampling.temperature = try GenerateRequest.number(&reader, "temperature", default: 1, valid: { $0 >= 0 && $0 <= 2 }, "in [0, 2]")
        sampling.topP = try GenerateRequest.number(&reader, "top_p", default: 1, valid: { $0 > 0 && $0 <= 1 }, "in (0, 1]")
        sampling.topK = 0
        sampling.minP = 0
        sampling.seed = UInt64(try reader.int("seed", in: 0...Int(Int32.max)) ?? 0)
        if let n = try reader.int("n", in: 1...1_000_000), n != 1 { throw .badRequest("n must be 1", param: "n") }
        _ = try reader.string("user")
        for key in ["presence_penalty", "frequency_penalty"] {
            if let value = try reader.double(key), value != 0 { throw .badRequest("\(key) is not supported (only 0)", param: key) }
        }
        return sampling
    }

    /// `stop`: a string or a list of strings, within `GenerateRequest.checkStop`'s caps (an empty one never matches).
    static func stop(_ value: JSONValue?) throws(HTTPError) -> [String] {
        var stop: [String] = []
        switch value {
        case nil: return []
        case .string(let s)?: stop = [s]
        case .array(let items)?:
            stop = try items.enumerated().map { (i, item) throws(HTTPError) -> String in
                guard case .string(let s) = item else { throw .badRequest("stop[\(i)] must be a string", param: "stop[\(i)]") }
                return s
            }
        default: throw .badRequest("stop must be a string or an array of strings", param: "stop")
        }
        try GenerateRequest.checkStop(stop)
        return stop
    }

    /// The members every answer and streamed chunk begins with: `id`, `object`, `created`, `model`.
    struct Header {
        var id: String
        var created: Int
        var model: String

        /// A fresh id (`cmpl-…`, `chatcmpl-…`) created now.
        init(prefix: String, model: String) {
            id = "\(prefix)-\(UInt64.random(in: 0...UInt64.max) & 0xffff_ffff_ffff)"
            created = Int(time(nil))
            self.model = model
        }

        /// Writes `{"id":…,"object":…,"created":…,"model":…` (the object left open for the rest).
        func open(_ object: StaticString, _ writer: inout JSONWriter) {
            writer.raw("{"); writer.key("id"); writer.string(id)
            writer.raw(",\"object\":\""); writer.raw(object); writer.raw("\",\"created\":\(created),")
            writer.key("model"); writer.string(model)
        }
    }

    /// OpenAI's `finish_reason`: `length` when max_tokens ended it, else `stop`.
    static func finishReason(_ outcome: GenerationOutcome) -> String {
        outcome.finishReason == .length ? "length" : "stop"
    }
}
