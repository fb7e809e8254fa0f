import RotaryJSON
import RotaryNumerics

/// The answer of `/rotate`, and an upper bound on its bytes from the request alone (for
/// `max_response_bytes`, before any work).
extension RotateRequest {
    /// An upper bound on the bytes of the answer: the rotated vectors (and, in JSON, the positions and
    /// the extras asked for: cos and sin are `[rows][rotary_dim]`).
    func maxResponseBytes(npy: Bool) -> Int {
        if npy { return ResponseSize.npy(count: tensor.values.count) }
        let rows = positions.count
        var total = ResponseSize.envelope + ResponseSize.jsonTensor(count: tensor.values.count, rows: rows * tensor.heads + rows)
            + 2 * rows * tensor.heads * (axes.map { $0.axisCount * (AxesDecoding.maxCoordinateBytes + 1) } ?? ResponseSize.jsonInt)
        if extras.contains(.invFreq) { total += configuration.pairCount * ResponseSize.jsonFloat + 2 }
        for extra in [Extra.cos, .sin] where extras.contains(extra) {
            total += ResponseSize.jsonTensor(count: rows * configuration.pairCount * 2, rows: rows)
        }
        return total
    }

    /// The JSON answer: the rotated vectors, shape, positions, attention scaling and the extras asked for.
    func jsonAnswer(table: RoPETable) -> [UInt8] {
        var writer = JSONWriter(reservingCapacity: tensor.values.count * 12 + 256)
        writer.raw("{")
        writer.key("vectors"); tensor.write(to: &writer); writer.comma()
        writer.key("shape"); writer.raw("[" + tensor.shape.map(String.init).joined(separator: ",") + "]"); writer.comma()
        writer.key("positions")
        if let headPositions {
            writer.raw("[" + headPositions.map { head in
                "[" + head.map { "[" + $0.map(AxesDecoding.text).joined(separator: ",") + "]" }.joined(separator: ",") + "]"
            }.joined(separator: ",") + "]")
        } else if let axisPositions {
            writer.raw("[" + axisPositions.map { "[" + $0.map(AxesDecoding.text).joined(separator: ",") + "]" }.joined(separator: ",") + "]")
        } else {
            writer.raw("[" + positions.map(String.init).joined(separator: ",") + "]")
        }
        writer.comma()
        writer.key("attention_scaling"); writer.double(table.frequencies.attentionScaling)
        if extras.contains(.invFreq) {
            writer.comma(); writer.key("inv_freq"); writer.floats(table.frequencies.inverseFrequencies)
        }
        // cos/sin as transformers lays them out: [rows][rotary_dim], pairs expanded per layout.
        for (extra, values) in [(RotateRequest.Extra.cos, table.cos), (.sin, table.sin)] where extras.contains(extra) {
            writer.comma(); writer.key(extra.rawValue)
            var expanded = [Float](); expanded.reserveCapacity(values.count * 2)
            let pairs = table.pairCount
            for row in 0..<table.rows {
                let slice = values[(row * pairs)..<((row + 1) * pairs)]
                switch configuration.layout {
                case .half: expanded += slice; expanded += slice
                case .interleaved: for v in slice { expanded.append(v); expanded.append(v) }
                }
            }
            expanded.withUnsafeBufferPointer { writer.tensor($0, shape: [table.rows, pairs * 2]) }
        }
        writer.raw("}")
        return writer.bytes
    }
}
