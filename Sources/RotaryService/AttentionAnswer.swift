import RotaryJSON
import RotaryNumerics

/// The answer of a numeric `/attention` call, as JSON or as an SVG heatmap, and an upper bound on its
/// bytes from the request alone (for `max_response_bytes`, before any work).
enum AttentionAnswer {
    static func title(_ decoded: AttentionRequest) -> String {
        "Attention weights (\(decoded.encodingName)\(decoded.causal ? ", causal" : ""))"
    }

    /// At least the bytes `json` (or `svg`) writes for this request.
    static func maxBytes(_ decoded: AttentionRequest, svg: Bool, limits: ServiceConfiguration) -> Int {
        let shape = decoded.shape
        if svg {
            return AttentionHeatmap.maxBytes(heads: shape.queryHeads, rows: shape.queryLength, columns: shape.keyLength,
                                             labelBytes: decoded.multiAxis.map { $0.axes.axisCount * (AxesDecoding.maxCoordinateBytes + 1) }
                                                ?? String(limits.maxPosition).utf8.count,
                                             titleBytes: title(decoded).utf8.count)
        }
        let rows = shape.queryHeads * shape.queryLength
        var total = ResponseSize.envelope
            + (decoded.positionsQ.count + decoded.positionsK.count)
            * (decoded.multiAxis.map { $0.axes.axisCount * (AxesDecoding.maxCoordinateBytes + 1) + 2 } ?? ResponseSize.jsonInt)
        for output in decoded.outputs {
            total += ResponseSize.jsonTensor(count: rows * (output == .output ? shape.valueDim : shape.keyLength), rows: rows + shape.queryHeads)
        }
        return total
    }

    static func svg(_ decoded: AttentionRequest, _ result: AttentionResult) -> String {
        let shape = decoded.shape
        return AttentionHeatmap.render(weights: result.weights, heads: shape.queryHeads, rows: shape.queryLength,
                                       columns: shape.keyLength, rowLabels: labels(decoded, queries: true),
                                       columnLabels: labels(decoded, queries: false), title: title(decoded))
    }

    /// A position per row as text: `7`, or `2,0,3` for multi-axis positions.
    static func labels(_ decoded: AttentionRequest, queries: Bool) -> [String] {
        if let multi = decoded.multiAxis {
            return (queries ? multi.queries : multi.keys).map { $0.map(AxesDecoding.text).joined(separator: ",") }
        }
        return (queries ? decoded.positionsQ : decoded.positionsK).map(String.init)
    }

    /// The outputs asked for, the positions and the shape. Answers keep the rank of the queries:
    /// [seq_q][seq_k] for 2-D input, [heads][seq_q][seq_k] for 3-D.
    static func json(_ decoded: AttentionRequest, _ result: AttentionResult) -> [UInt8] {
        let shape = decoded.shape
        let rank3 = decoded.queries.shape.count == 3
        func dims(_ last: Int) -> [Int] { rank3 ? [shape.queryHeads, shape.queryLength, last] : [shape.queryLength, last] }
        var writer = JSONWriter(reservingCapacity: shape.scoreCount * 12 + 256)
        writer.raw("{")
        for (output, values, last) in [(AttentionRequest.Output.scores, result.scores ?? [], shape.keyLength),
                                       (.weights, result.weights, shape.keyLength),
                                       (.output, result.output ?? [], shape.valueDim)] where decoded.outputs.contains(output) {
            writer.key(output.rawValue)
            values.withUnsafeBufferPointer { writer.tensor($0, shape: dims(last)) }
            writer.comma()
        }
        // Multi-axis labels are "a,b,c": as JSON, [[a,b,c],…].
        let wrap = decoded.multiAxis == nil ? { (label: String) in label } : { (label: String) in "[" + label + "]" }
        writer.key("positions_q"); writer.raw("[" + labels(decoded, queries: true).map(wrap).joined(separator: ",") + "]"); writer.comma()
        writer.key("positions_k"); writer.raw("[" + labels(decoded, queries: false).map(wrap).joined(separator: ",") + "]"); writer.comma()
        writer.key("shape")
        writer.raw("{\"heads\":\(shape.queryHeads),\"kv_heads\":\(shape.keyHeads),\"seq_q\":\(shape.queryLength),")
        writer.raw("\"seq_k\":\(shape.keyLength),\"head_dim\":\(shape.headDim),\"value_dim\":\(shape.valueDim)}")
        writer.raw("}")
        return writer.bytes
    }
}
