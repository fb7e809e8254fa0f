import RotaryHTTP

/// Upper bounds on the bytes of an answer, computed from the decoded request before any work, so that
/// `max_response_bytes` refuses (413) an answer too large to hold instead of building it (an 82 KB
/// `/attention` request once made a 415 MB answer). Bounds, not guesses: each counts the longest text
/// the writers can produce for a value.
enum ResponseSize {
    /// The longest float32 JSONWriter writes (`-1.17549435e-38`) and its comma.
    static let jsonFloat = 16
    /// A position or token id (up to 2³¹) and its comma.
    static let jsonInt = 12
    /// A Double (logprobs, timings) and its comma.
    static let jsonDouble = 25
    /// Keys, shape objects and other small fields of any answer.
    static let envelope = 1024

    /// A `[d0][d1]...` tensor of `count` floats whose innermost rows number `rows`.
    static func jsonTensor(count: Int, rows: Int) -> Int { count * jsonFloat + rows * 2 + 2 }

    /// A version 1.0 `.npy` of `count` float32 values (header padded to 64 bytes, or 128 for long shapes).
    static func npy(count: Int) -> Int { count * 4 + 128 }

    /// A JSON string of `bytes` UTF-8 bytes: at most six bytes for each (`\u00XX`) and the quotes.
    static func jsonString(bytes: Int) -> Int { bytes * 6 + 3 }

    /// One scored token as `/generate` writes it (`{"id","text","logprob","top_logprobs"}`) or
    /// `/v1/completions` lists it (token, logprob, top_logprobs entry, offset), with `alternatives`.
    static func scoredToken(alternatives: Int, pieceBytes: Int) -> Int {
        let piece = jsonString(bytes: pieceBytes)
        return (1 + alternatives) * (64 + piece + jsonDouble) + 2 * jsonInt
    }

    /// A model answer's text and scored tokens: `generated` tokens (their text too), `scored` other
    /// tokens (echoed prompt, candidates), plus `textBytes` of other text (an echoed prompt).
    static func modelAnswer(generated: Int, scored: Int, textBytes: Int, alternatives: Int, pieceBytes: Int) -> Int {
        envelope + jsonString(bytes: generated * pieceBytes + textBytes)
            + (generated + scored) * scoredToken(alternatives: alternatives, pieceBytes: pieceBytes)
    }

    /// 413 `response_too_large` naming the limit, when `estimate` is over it.
    /// - Parameters:
    ///   - what: the answer, for the message ("the JSON scores and weights").
    ///   - param: the request field that makes it large.
    static func check(_ estimate: Int, _ limits: ServiceConfiguration, what: String, param: String) throws(HTTPError) {
        guard estimate > limits.maxResponseBytes else { return }
        throw HTTPError(status: 413, type: "response_too_large",
                        message: "\(what) could take up to \(estimate) bytes, over the limit of \(limits.maxResponseBytes) bytes per response (max_response_bytes); ask for less",
                        param: param)
    }
}
