extension TensorFormat {
    /// Expands `count` values (whole blocks) stored at `blocks` into floats, exactly as ggml's
    /// `dequantize_row_*` (and gguf-py's `dequantize`) do. Output `[count]`.
    public func dequantize(_ blocks: UnsafeRawPointer, count: Int, into output: UnsafeMutablePointer<Float>) {
        precondition(count % blockElements == 0, "\(count) values is not whole \(name) blocks")
        switch self {
        case .f32: output.update(from: blocks.assumingMemoryBound(to: Float.self), count: count)
        case .f16:
            for i in 0..<count { output[i] = Float(Float16(bitPattern: blocks.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self))) }
        case .bf16:
            for i in 0..<count {
                output[i] = Float(bitPattern: UInt32(blocks.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self)) << 16)
            }
        case .q8_0:
            for block in 0..<(count / 32) {
                let start = blocks + block * 34
                let scale = Float(Float16(bitPattern: start.loadUnaligned(as: UInt16.self)))
                for i in 0..<32 { output[block * 32 + i] = scale * Float(start.load(fromByteOffset: 2 + i, as: Int8.self)) }
            }
        default:
            preconditionFailure("dequantization of \(name) is not written yet")
        }
    }
}
