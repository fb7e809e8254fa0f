extension TensorFormat {
    /// Expands `count` values (whole blocks) stored at `blocks` into floats, exactly as ggml's
    /// `dequantize_row_*` and gguf-py's `dequantize` do: the same float32 operations in the same order
    /// (Q4_1 is d·q + m, K-quants (d·scale)·q − dmin·min), so the results agree bit for bit. Output `[count]`.
    public func dequantize(_ blocks: UnsafeRawPointer, count: Int, into output: UnsafeMutablePointer<Float>) {
        precondition(count % blockElements == 0, "\(count) values is not whole \(name) blocks")
        let blockCount = count / blockElements
        switch self {
        case .f32: output.update(from: blocks.assumingMemoryBound(to: Float.self), count: count)
        case .f16: Dequantize.halves(blocks, count: count, into: output)
        case .bf16: Dequantize.bfloats(blocks, count: count, into: output)
        case .q4_0: Dequantize.each(blockCount, blocks, 18, output, 32, Dequantize.q4_0)
        case .q4_1: Dequantize.each(blockCount, blocks, 20, output, 32, Dequantize.q4_1)
        case .q5_0: Dequantize.each(blockCount, blocks, 22, output, 32, Dequantize.q5_0)
        case .q5_1: Dequantize.each(blockCount, blocks, 24, output, 32, Dequantize.q5_1)
        case .q8_0: Dequantize.each(blockCount, blocks, 34, output, 32, Dequantize.q8_0)
        case .q4_K: Dequantize.each(blockCount, blocks, 144, output, 256, Dequantize.q4_K)
        case .q5_K: Dequantize.each(blockCount, blocks, 176, output, 256, Dequantize.q5_K)
        case .q6_K: Dequantize.each(blockCount, blocks, 210, output, 256, Dequantize.q6_K)
        }
    }
}

/// One block of each format into floats. Plain Swift SIMD (no instruction-set intrinsics), so it is also the
/// portable path. Float operations are written one per step (Swift never fuses a·b + c), matching numpy's.
enum Dequantize {
    typealias Block = (UnsafeRawPointer, UnsafeMutablePointer<Float>) -> Void

    @inline(__always)
    static func each(_ blockCount: Int, _ blocks: UnsafeRawPointer, _ blockBytes: Int,
                     _ output: UnsafeMutablePointer<Float>, _ blockElements: Int, _ body: Block) {
        for b in 0..<blockCount { body(blocks + b * blockBytes, output + b * blockElements) }
    }

    // MARK: Loads

    @inline(__always)
    static func half(_ p: UnsafeRawPointer, _ offset: Int = 0) -> Float {
        Float(p.loadUnaligned(fromByteOffset: offset, as: Float16.self))
    }

    /// Eight bytes widened to 32-bit lanes.
    @inline(__always)
    static func bytes8(_ p: UnsafeRawPointer, _ offset: Int) -> SIMD8<UInt32> { Lanes.bytes(p, offset) }

    @inline(__always)
    static func store(_ v: SIMD8<Float>, _ out: UnsafeMutablePointer<Float>) {
        UnsafeMutableRawPointer(out).storeBytes(of: v, as: SIMD8<Float>.self)
    }

    /// Unsigned quants as floats.
    @inline(__always)
    static func floats(_ q: SIMD8<UInt32>) -> SIMD8<Float> { Lanes.floats(SIMD8<Int32>(truncatingIfNeeded: q)) }

    /// Quants stored with an offset (`q − offset`, as gguf-py's int8 subtraction) as floats.
    @inline(__always)
    static func floats(_ q: SIMD8<UInt32>, minus offset: Int32) -> SIMD8<Float> {
        Lanes.floats(SIMD8<Int32>(truncatingIfNeeded: q) &- offset)
    }

    /// Bit `first + lane` of `bits` in each lane.
    @inline(__always)
    static func bits(_ bits: UInt32, from first: UInt32) -> SIMD8<UInt32> {
        (SIMD8(repeating: bits) &>> (SIMD8(0, 1, 2, 3, 4, 5, 6, 7) &+ first)) & 1
    }

    // MARK: Whole-value formats

    /// f16 → f32 is exact. The hardware conversion quiets signalling NaNs; numpy (and ggml without F16C) keep
    /// them, so their quiet bit is cleared again.
    static func halves(_ p: UnsafeRawPointer, count: Int, into out: UnsafeMutablePointer<Float>) {
        var i = 0
        while i + 8 <= count {
            let bits = unsafeBitCast(Lanes.halves(p, 2 * i), to: SIMD8<UInt32>.self)
            // 1 in lanes whose half is a signalling NaN (exponent all ones, mantissa not 0, quiet bit 0), in
            // integer arithmetic so that it stays vectorised.
            let wide = Lanes.shorts(p, 2 * i)
            let exponentFull = ((wide & 0x7C00) &+ 0x0400) &>> 15
            let mantissaSet = ((wide & 0x03FF) &+ 0x03FF) &>> 10
            let quietClear = (~wide &>> 9) & 1
            let signalling = exponentFull & mantissaSet & quietClear
            UnsafeMutableRawPointer(out + i).storeBytes(of: bits & ~(signalling &<< 22), as: SIMD8<UInt32>.self)
            i += 8
        }
        while i < count { out[i] = halfKeepingSignallingNaN(p.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self)); i += 1 }
    }

    static func halfKeepingSignallingNaN(_ h: UInt16) -> Float {
        let f = Float(Float16(bitPattern: h))
        return (h & 0x7E00 == 0x7C00) && (h & 0x03FF != 0) ? Float(bitPattern: f.bitPattern & ~0x0040_0000) : f
    }

    /// bf16 is the top half of an f32.
    static func bfloats(_ p: UnsafeRawPointer, count: Int, into out: UnsafeMutablePointer<Float>) {
        var i = 0
        while i + 8 <= count {
            UnsafeMutableRawPointer(out + i).storeBytes(of: Lanes.shorts(p, 2 * i) &<< 16, as: SIMD8<UInt32>.self)
            i += 8
        }
        while i < count {
            out[i] = Float(bitPattern: UInt32(p.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self)) << 16)
            i += 1
        }
    }

    // MARK: 32-value blocks. Byte j of the nibbles holds value j (low nibble) and value j + 16 (high nibble).

    /// f16 d, 16 bytes of nibbles q: d·(q − 8).
    static func q4_0(_ p: UnsafeRawPointer, _ out: UnsafeMutablePointer<Float>) {
        let d = SIMD8(repeating: half(p))
        for h in 0..<2 {
            let b = bytes8(p, 2 + 8 * h)
            store(d * floats(b & 0xF, minus: 8), out + 8 * h)
            store(d * floats(b &>> 4, minus: 8), out + 16 + 8 * h)
        }
    }

    /// f16 d, f16 m, nibbles q: d·q + m.
    static func q4_1(_ p: UnsafeRawPointer, _ out: UnsafeMutablePointer<Float>) {
        let d = SIMD8(repeating: half(p)), m = SIMD8(repeating: half(p, 2))
        for h in 0..<2 {
            let b = bytes8(p, 4 + 8 * h)
            store(d * floats(b & 0xF) + m, out + 8 * h)
            store(d * floats(b &>> 4) + m, out + 16 + 8 * h)
        }
    }

    /// f16 d, 32 fifth bits (bit j for value j), nibbles: d·(q − 16).
    static func q5_0(_ p: UnsafeRawPointer, _ out: UnsafeMutablePointer<Float>) {
        let d = SIMD8(repeating: half(p))
        let high = p.loadUnaligned(fromByteOffset: 2, as: UInt32.self)
        for h in 0..<2 {
            let b = bytes8(p, 6 + 8 * h)
            let first = UInt32(8 * h)
            store(d * floats((b & 0xF) | bits(high, from: first) &<< 4, minus: 16), out + 8 * h)
            store(d * floats((b &>> 4) | bits(high, from: first + 16) &<< 4, minus: 16), out + 16 + 8 * h)
        }
    }

    /// f16 d, f16 m, fifth bits, nibbles: d·q + m.
    static func q5_1(_ p: UnsafeRawPointer, _ out: UnsafeMutablePointer<Float>) {
        let d = SIMD8(repeating: half(p)), m = SIMD8(repeating: half(p, 2))
        let high = p.loadUnaligned(fromByteOffset: 4, as: UInt32.self)
        for h in 0..<2 {
            let b = bytes8(p, 8 + 8 * h)
            let first = UInt32(8 * h)
            store(d * floats((b & 0xF) | bits(high, from: first) &<< 4) + m, out + 8 * h)
            store(d * floats((b &>> 4) | bits(high, from: first + 16) &<< 4) + m, out + 16 + 8 * h)
        }
    }

    /// f16 d, 32 int8 q: q·d.
    static func q8_0(_ p: UnsafeRawPointer, _ out: UnsafeMutablePointer<Float>) {
        let d = SIMD8(repeating: half(p))
        for e in stride(from: 0, to: 32, by: 8) {
            store(Lanes.floats(Lanes.signedBytes(p, 2 + e)) * d, out + e)
        }
    }
}
