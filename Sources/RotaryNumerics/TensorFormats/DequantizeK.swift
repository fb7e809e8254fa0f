/// The eight 6-bit scales and eight 6-bit minimums of a Q4_K/Q5_K block, packed in 12 bytes: bytes 0–3 hold
/// scales 0–3 (low 6 bits) and the top 2 bits of scales 4–7; bytes 4–7 the same for minimums; bytes 8–11 the low
/// 4 bits of scale 4+i (low nibble) and minimum 4+i (high nibble).
struct KScales {
    /// Scale i in byte i.
    let scales: UInt64
    /// Minimum i in byte i.
    let minimums: UInt64

    @inline(__always)
    init(_ packed: UnsafeRawPointer) {
        let u0 = packed.loadUnaligned(as: UInt32.self)
        let u1 = packed.loadUnaligned(fromByteOffset: 4, as: UInt32.self)
        let u2 = packed.loadUnaligned(fromByteOffset: 8, as: UInt32.self)
        let low6: UInt32 = 0x3F3F_3F3F, low4: UInt32 = 0x0F0F_0F0F, top2: UInt32 = 0x0303_0303
        let scalesHigh = (u2 & low4) | ((u0 >> 6) & top2) << 4
        let minimumsHigh = ((u2 >> 4) & low4) | ((u1 >> 6) & top2) << 4
        scales = UInt64(u0 & low6) | UInt64(scalesHigh) << 32
        minimums = UInt64(u1 & low6) | UInt64(minimumsHigh) << 32
    }

    @inline(__always) func scale(_ i: Int) -> Float { Float(UInt8(truncatingIfNeeded: scales >> (8 * i))) }
    @inline(__always) func minimum(_ i: Int) -> Float { Float(UInt8(truncatingIfNeeded: minimums >> (8 * i))) }
}

extension Dequantize {
    // MARK: 256-value blocks: eight sub-blocks of 32 (Q4_K, Q5_K) or sixteen scales of 16 (Q6_K).

    /// f16 d, f16 dmin, 12 bytes of scales/minimums, 128 bytes of nibbles: (d·scale)·q − dmin·min.
    /// Nibble bytes 32j…32j+31 hold sub-block 2j (low nibbles) and 2j+1 (high nibbles).
    static func q4_K(_ p: UnsafeRawPointer, _ out: UnsafeMutablePointer<Float>) {
        let d = half(p), dmin = half(p, 2)
        let k = KScales(p + 4)
        for sub in 0..<8 {
            let scale = SIMD8(repeating: d * k.scale(sub)), minimum = SIMD8(repeating: dmin * k.minimum(sub))
            let shift = UInt32(4 * (sub & 1))
            for e in stride(from: 0, to: 32, by: 8) {
                let q = (bytes8(p, 16 + 32 * (sub / 2) + e) &>> shift) & 0xF
                store(scale * floats(q) - minimum, out + 32 * sub + e)
            }
        }
    }

    /// As Q4_K with 32 bytes of fifth bits after the scales: bit `sub` of byte e is the fifth bit of value e
    /// of sub-block `sub`.
    static func q5_K(_ p: UnsafeRawPointer, _ out: UnsafeMutablePointer<Float>) {
        let d = half(p), dmin = half(p, 2)
        let k = KScales(p + 4)
        for sub in 0..<8 {
            let scale = SIMD8(repeating: d * k.scale(sub)), minimum = SIMD8(repeating: dmin * k.minimum(sub))
            let shift = UInt32(4 * (sub & 1))
            for e in stride(from: 0, to: 32, by: 8) {
                let low = (bytes8(p, 48 + 32 * (sub / 2) + e) &>> shift) & 0xF
                let high = (bytes8(p, 16 + e) &>> UInt32(sub)) & 1
                store(scale * floats(low | high &<< 4) - minimum, out + 32 * sub + e)
            }
        }
    }

    /// 128 bytes of low nibbles, 64 bytes of high bit pairs, 16 int8 scales (one per 16 values), f16 d at byte 208:
    /// (d·scale)·(q − 32). Each half of 128 values uses 64 nibble bytes and 32 pair bytes; its quarter s (32 values)
    /// takes nibble bytes 32·(s & 1)… (low nibbles for s < 2, high after) and bits 2s, 2s+1 of the pair bytes.
    static func q6_K(_ p: UnsafeRawPointer, _ out: UnsafeMutablePointer<Float>) {
        let d = half(p, 208)
        for sub in 0..<8 {
            let half = sub / 4, quarter = sub % 4
            let lowShift = UInt32(4 * (quarter / 2)), highShift = UInt32(2 * quarter)
            for e in stride(from: 0, to: 32, by: 8) {
                let scale = SIMD8(repeating: d * Float(p.load(fromByteOffset: 192 + 2 * sub + e / 16, as: Int8.self)))
                let low = (bytes8(p, 64 * half + 32 * (quarter & 1) + e) &>> lowShift) & 0xF
                let high = (bytes8(p, 128 + 32 * half + e) &>> highShift) & 3
                store(scale * floats(low | high &<< 4, minus: 32), out + 32 * sub + e)
            }
        }
    }
}
