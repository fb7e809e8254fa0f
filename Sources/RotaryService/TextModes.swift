import RotaryHTTP
import RotaryJSON
import RotaryModel
import RotaryNumerics

/// `/rotate` and `/attention` on a text, with the loaded model: its token embeddings rotated by its
/// own RoPE, and its real attention weights.
enum TextModes {
    /// `{"text": ..., "offset": 0}` → the model's embeddings of the text's tokens, each head rotated
    /// at the token's position with the model's RoPE configuration.
    /// - Parameter pieceBytes: the model's longest token piece (bounds the answer's token texts).
    static func rotate(_ body: JSONValue, model: LlamaModel, pieceBytes: Int, limits: ServiceConfiguration) throws(HTTPError) -> Response {
        var reader = try ObjectReader(body, path: "")
        let text = try reader.string("text") ?? ""
        let offset = try reader.int("offset", in: 0...limits.maxPosition) ?? 0
        let inverse = try reader.bool("inverse") ?? false
        let override = try ModelRoPE.decode(reader.value("rope"), model: model, limits: limits)
        try reader.finish(known: RotateRequest.topLevelKeys, notApplicable: "does not apply to text mode (the model's RoPE, or `rope` over it, is used)")
        let c = override ?? model.configuration
        let tokens = model.tokenizer.encode(text)
        try checkPositions(offset + tokens.count, override, model: model, limits: limits,
                           what: "the text has \(tokens.count) tokens (n_prompt_tokens) from offset \(offset)")
        try ResponseSize.check(ResponseSize.envelope + ResponseSize.jsonTensor(count: tokens.count * c.dim, rows: tokens.count)
                               + tokens.count * (2 * ResponseSize.jsonInt + tokenBytes(pieceBytes)), limits, what: "the JSON vectors", param: "text")
        // The embedding row cut into head-wide pieces (its own heads count, as key_length need not divide dim evenly).
        guard c.dim % c.headDim == 0 else {
            throw HTTPError(status: 400, type: "invalid_request_error",
                            message: "this model's embedding width \(c.dim) is not a multiple of its head width \(c.headDim)", param: "text")
        }
        let heads = c.dim / c.headDim
        var vectors = [Float](repeating: 0, count: tokens.count * c.dim)   // [tokens][dim] = [tokens][heads][headDim]
        vectors.withUnsafeMutableBufferPointer { v in
            let table = model.weights.matrix(.tokenEmbedding)!
            for (t, token) in tokens.enumerated() { table.dequantizeRow(token, into: v.baseAddress! + t * c.dim) }
        }
        let positions = Array(offset..<(offset + tokens.count))
        let table = c.rope.table(positions: positions, inverse: inverse, frequencyDivisors: c.ropeFrequencyFactors)
        vectors.withUnsafeMutableBufferPointer { v in
            table.cos.withUnsafeBufferPointer { cosines in
                table.sin.withUnsafeBufferPointer { sines in
                    RoPEKernel.rotate(v.baseAddress!, tokens: tokens.count, heads: heads, headDim: c.headDim,
                                      rotaryDim: c.rope.rotaryDim, layout: c.rope.layout, cos: cosines.baseAddress!, sin: sines.baseAddress!)
                }
            }
        }
        var writer = JSONWriter(reservingCapacity: vectors.count * 12 + 256)
        writer.raw("{")
        writer.key("vectors"); vectors.withUnsafeBufferPointer { writer.tensor($0, shape: [tokens.count, c.dim]) }; writer.comma()
        writer.key("shape"); writer.raw("[\(tokens.count),\(c.dim)]"); writer.comma()
        writer.key("positions"); writer.raw("[" + positions.map(String.init).joined(separator: ",") + "]"); writer.comma()
        writeTokens(tokens, model, &writer); writer.comma()
        writer.key("attention_scaling"); writer.double(table.frequencies.attentionScaling); writer.comma()
        writer.key("rope"); writer.value(.object(ModelRoPE.object(c.rope) + [("heads", .number(Double(heads))), ("head_dim", .number(Double(c.headDim)))]))
        writer.raw("}")
        return .json(writer.bytes)
    }

    /// `{"text": ..., "layer": 0, "head": 0 | "all"}` → the model's attention weights for the text.
    static func attention(_ body: JSONValue, request: Request, owner: ModelOwner, limits: ServiceConfiguration) async throws(HTTPError) -> Response {
        let model = try owner.requireModel()
        let c = model.configuration
        var reader = try ObjectReader(body, path: "")
        let text = try reader.string("text") ?? ""
        let layer = try reader.int("layer", in: 0...(c.layers - 1)) ?? 0
        var heads = Array(0..<c.heads)
        if let value = reader.value("head") {
            switch value {
            case .string("all"): break
            case .number(let n) where n.rounded() == n && n >= 0 && Int(n) < c.heads: heads = [Int(n)]
            default: throw .badRequest("head must be \"all\" or a head index in 0...\(c.heads - 1)", param: "head")
            }
        }
        let override = try ModelRoPE.decode(reader.value("rope"), model: model, limits: limits)
        try reader.finish()
        let tokens = model.tokenizer.encode(text)
        try checkPositions(tokens.count, override, model: model, limits: limits, what: "the text has \(tokens.count) tokens (n_prompt_tokens)")
        guard c.heads * tokens.count * tokens.count <= limits.maxScoreElements else {
            throw .payloadTooLarge("the weights would have \(c.heads * tokens.count * tokens.count) elements, over max_score_elements", param: "text")
        }
        let n = tokens.count
        let title = "Attention weights, layer \(layer)" + (heads.count == 1 ? ", head \(heads[0])" : "")
        if AttentionRoutes.wantsSVG(request) {
            try ResponseSize.check(AttentionHeatmap.maxBytes(heads: heads.count, rows: n, columns: n, labelBytes: owner.maxPieceBytes * 3,
                                                             titleBytes: title.utf8.count), limits, what: "the SVG heatmap", param: "text")
        } else {
            try ResponseSize.check(ResponseSize.envelope + ResponseSize.jsonTensor(count: heads.count * n * n, rows: heads.count * n + heads.count)
                                   + n * tokenBytes(owner.maxPieceBytes) + heads.count * ResponseSize.jsonInt,
                                   limits, what: "the JSON weights", param: "text")
        }
        let all = try await owner.run { model in model.attentionWeights(tokens, layer: layer, configuration: override) }
        var selected: [Float] = []
        for h in heads { selected += all[(h * n * n)..<((h + 1) * n * n)] }
        let labels = tokens.map { model.tokenizer.decodePiece($0) }
        if AttentionRoutes.wantsSVG(request) {
            return .text(AttentionHeatmap.render(weights: selected, heads: heads.count, rows: n, columns: n,
                                                 rowLabels: labels, columnLabels: labels, title: title),
                         contentType: AttentionRoutes.svgType)
        }
        var writer = JSONWriter(reservingCapacity: selected.count * 12 + 256)
        writer.raw("{")
        writer.key("weights"); selected.withUnsafeBufferPointer { writer.tensor($0, shape: [heads.count, n, n]) }; writer.comma()
        writer.key("heads"); writer.raw("[" + heads.map(String.init).joined(separator: ",") + "]"); writer.comma()
        writer.key("layer"); writer.int(layer); writer.comma()
        writeTokens(tokens, model, &writer)
        writer.raw("}")
        return .json(writer.bytes)
    }

    /// 400 `context_length_exceeded` past the model's context, or with a `rope` override 413 past `max_eval_context`.
    static func checkPositions(_ positions: Int, _ override: ModelConfiguration?, model: LlamaModel, limits: ServiceConfiguration,
                               what: String) throws(HTTPError) {
        if override != nil { return try ModelRoPE.checkEvalContext(positions, model: model, limits: limits, param: "text") }
        let context = model.configuration.contextLength
        guard positions <= context else {
            throw HTTPError(status: 400, type: "context_length_exceeded",
                            message: "\(what), over the context of \(context) (n_ctx); a `rope` override may read up to max_eval_context",
                            param: "text")
        }
    }

    /// One `{"id","text"}` entry of `writeTokens` for a piece of at most `pieceBytes` bytes.
    static func tokenBytes(_ pieceBytes: Int) -> Int { 24 + ResponseSize.jsonInt + ResponseSize.jsonString(bytes: pieceBytes) }

    static func writeTokens(_ tokens: [Int], _ model: LlamaModel, _ writer: inout JSONWriter) {
        writer.key("tokens"); writer.raw("[")
        for (i, id) in tokens.enumerated() {
            if i > 0 { writer.comma() }
            writer.raw("{\"id\":\(id),"); writer.key("text"); writer.string(model.tokenizer.decodePiece(id)); writer.raw("}")
        }
        writer.raw("]")
    }
}
