import RotaryHTTP
import RotaryJSON
import RotaryNumerics

/// A decoded, checked `POST /attention`.
struct AttentionRequest {
    enum Output: String, CaseIterable { case scores, weights, output }

    var queries: FloatTensor
    var keys: FloatTensor
    var values: FloatTensor?
    var shape: AttentionShape
    var positionsQ: [Int]
    var positionsK: [Int]
    /// With `position_encoding.axes`: multi-axis positions `[seq_q][axes]` and `[seq_k][axes]`.
    var multiAxis: (axes: RoPEAxes, queries: [[Double]], keys: [[Double]])?
    var encoding: PositionEncoding
    var encodingName: String
    var causal: Bool
    var scale: Float?
    var outputs: Set<Output>

    static func decode(_ body: JSONValue, limits: ServiceConfiguration) throws(HTTPError) -> AttentionRequest {
        var reader = try ObjectReader(body, path: "", nullable: ["scale"])
        func tensor(_ name: String) throws(HTTPError) -> FloatTensor? {
            guard let value = reader.value(name) else { return nil }
            return try FloatTensor.decode(value, field: name, maxElements: limits.maxElements)
        }
        guard let queries = try tensor("queries") else { throw .badRequest("queries is required", param: "queries") }
        guard let keys = try tensor("keys") else { throw .badRequest("keys is required", param: "keys") }
        let values = try tensor("values")
        guard queries.shape.count == keys.shape.count else {
            throw .badRequest("keys must have the same rank as queries ([seq][dim] or [heads][seq][dim])", param: "keys")
        }
        guard keys.columns == queries.columns else {
            throw .badRequest("keys have \(keys.columns) components per row but queries have \(queries.columns)", param: "keys")
        }
        guard queries.heads % keys.heads == 0 else {
            throw .badRequest("query heads (\(queries.heads)) must be a multiple of key heads (\(keys.heads)) for grouped-query attention",
                              param: "keys")
        }
        if let values {
            guard values.shape.count == keys.shape.count, values.heads == keys.heads else {
                throw .badRequest("values must have as many heads as keys (\(keys.heads))", param: "values")
            }
            guard values.rows == keys.rows else {
                throw .badRequest("values have \(values.rows) rows but keys have \(keys.rows)", param: "values")
            }
        }
        let shape = AttentionShape(queryHeads: queries.heads, keyHeads: keys.heads, queryLength: queries.rows,
                                   keyLength: keys.rows, headDim: queries.columns, valueDim: values?.columns ?? 0)
        guard shape.scoreCount <= limits.maxScoreElements else {
            throw .payloadTooLarge("the score tensor would have \(shape.scoreCount) elements (heads × seq_q × seq_k), over the limit of \(limits.maxScoreElements) (max_score_elements)",
                                   param: "queries")
        }
        let encodingValue = reader.value("position_encoding")
        var axes: RoPEAxes?
        if case .object(let members) = encodingValue, let axesValue = members.first(where: { $0.0 == "axes" })?.1, axesValue != .null {
            axes = try AxesDecoding.axes(axesValue, path: "position_encoding.axes")
        }
        var positionsQ: [Int], positionsK: [Int]
        var multiAxis: (axes: RoPEAxes, queries: [[Double]], keys: [[Double]])?
        if let axes {
            func axisPositions(_ name: String, rows: Int) throws(HTTPError) -> [[Double]] {
                guard let value = reader.value(name) else {
                    throw .badRequest("\(name) is required with position_encoding.axes", param: name)
                }
                return try AxesDecoding.positions(value, rows: rows, axisCount: axes.axisCount, offset: 0, maxPosition: limits.maxPosition,
                                                  maxElements: limits.maxElements, field: name)
            }
            multiAxis = (axes, try axisPositions("positions_q", rows: shape.queryLength), try axisPositions("positions_k", rows: shape.keyLength))
            // Sequence order, for the causal mask: the queries are the last seq_q rows of the keys' sequence.
            positionsQ = Array((shape.keyLength - shape.queryLength)..<shape.keyLength)
            positionsK = Array(0..<shape.keyLength)
        } else {
            positionsQ = try positions(&reader, "positions_q", count: shape.queryLength, limits: limits)
            positionsK = try positions(&reader, "positions_k", count: shape.keyLength, limits: limits)
        }
        let causal = try reader.bool("causal") ?? false
        var scale: Float?
        if let value = try reader.double("scale") {
            guard value.isFinite, Float(value).isFinite else { throw .badRequest("scale must be a finite number", param: "scale") }
            scale = Float(value)
        }
        var outputs: Set<Output> = []
        for (i, name) in (try reader.strings("return") ?? ["weights"]).enumerated() {
            guard let output = Output(rawValue: name) else {
                throw .badRequest("return[\(i)] must be one of scores, weights, output; got '\(name)'", param: "return[\(i)]")
            }
            outputs.insert(output)
        }
        if outputs.contains(.output) && values == nil {
            throw .badRequest("return includes output, which needs values", param: "values")
        }
        let (encoding, name) = try decodeEncoding(encodingValue, headDim: shape.headDim, ignoring: axes == nil ? [] : ["axes"])
        try reader.finish()
        if case .rope(let config) = encoding {
            if let axes {
                try AxesDecoding.check(axes, config, heads: shape.queryHeads, ropePath: "position_encoding")
                if axes.headCount > 1 && shape.keyHeads != shape.queryHeads {
                    throw .badRequest("mixed frequencies are per head: keys need as many heads as queries (\(shape.queryHeads))", param: "keys")
                }
            }
            // As the tables are built: one sequence length for both sides.
            let largest = multiAxis.map { max(AxesDecoding.largestMagnitude($0.queries), AxesDecoding.largestMagnitude($0.keys)) }
                ?? max(positionsQ.max() ?? 0, positionsK.max() ?? 0)
            try RoPEDecoding.checkFinite(config, maxPosition: largest, sequenceLength: largest + 1, path: "position_encoding")
        } else if axes != nil {
            throw .badRequest("position_encoding.axes applies to type rope only", param: "position_encoding.axes")
        }
        return AttentionRequest(queries: queries, keys: keys, values: values, shape: shape, positionsQ: positionsQ,
                                positionsK: positionsK, multiAxis: multiAxis, encoding: encoding, encodingName: name,
                                causal: causal, scale: scale, outputs: outputs)
    }

    private static func positions(_ reader: inout ObjectReader, _ name: String, count: Int,
                                  limits: ServiceConfiguration) throws(HTTPError) -> [Int] {
        guard let given = try reader.doubles(name) else { return Array(0..<count) }
        guard given.count == count else {
            throw .badRequest("\(name) has \(given.count) entries but there are \(count) rows", param: name)
        }
        var out: [Int] = []
        out.reserveCapacity(count)
        for (i, p) in given.enumerated() {
            guard p.rounded() == p, p >= 0, p <= Double(limits.maxPosition) else {
                throw .badRequest("\(name)[\(i)] must be a whole number in 0...\(limits.maxPosition), got \(p)", param: "\(name)[\(i)]")
            }
            out.append(Int(p))
        }
        return out
    }

    /// `{"type": "rope", ...RoPE parameters}` (the default), `{"type": "sinusoidal", "base": 10000}` or `{"type": "none"}`.
    /// - Parameter ignoring: keys another decoder reads (`axes`).
    static func decodeEncoding(_ value: JSONValue?, headDim: Int, ignoring: Set<String> = []) throws(HTTPError) -> (PositionEncoding, String) {
        let path = "position_encoding"
        var reader = try ObjectReader(value ?? .object([]), path: path)
        for key in ignoring { _ = reader.value(key) }
        let type = try reader.choice("type", ["rope", "sinusoidal", "none"]) ?? "rope"
        switch type {
        case "sinusoidal":
            let base = try reader.double("base") ?? 10_000
            guard base.isFinite, base > 1 else { throw .badRequest("\(path).base must be a finite number > 1", param: "\(path).base") }
            try reader.finish()
            return (.sinusoidal(base: base), type)
        case "none":
            try reader.finish()
            return (.none, type)
        default:
            let config = try RoPEDecoding.decode(value, headDim: headDim, path: path, vectorsField: "queries", ignoring: ignoring.union(["type"]))
            return (.rope(config), type)
        }
    }
}
