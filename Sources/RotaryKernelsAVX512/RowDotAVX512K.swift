#if ROTARY_AVX512
import _Builtin_intrinsics.intel

/// K-quant rows against 32-value activation blocks, two sub-blocks of 32 per 512-bit `vpdpbusd`: each sub-block
/// meets one activation block, so its factor is (d·scale)·dx, computed for a block's eight (Q6_K: sixteen) scales
/// at once and spread over the lanes by a permute. One input at a time, row by row.
extension AVX512RowDot {
    static func q4_K(_ rows: UnsafeRawPointer, _ rowBytes: Int, _ count: Int, _ x: ActivationBlocks,
                     _ y: UnsafeMutablePointer<Float>, _ stride: Int) {
        eachInput(rows, rowBytes, count, x, y, stride) { row, input in fourOrFiveBits(row, input, x.blocksPerRow, fifth: false) }
    }

    static func q5_K(_ rows: UnsafeRawPointer, _ rowBytes: Int, _ count: Int, _ x: ActivationBlocks,
                     _ y: UnsafeMutablePointer<Float>, _ stride: Int) {
        eachInput(rows, rowBytes, count, x, y, stride) { row, input in fourOrFiveBits(row, input, x.blocksPerRow, fifth: true) }
    }

    static func q6_K(_ rows: UnsafeRawPointer, _ rowBytes: Int, _ count: Int, _ x: ActivationBlocks,
                     _ y: UnsafeMutablePointer<Float>, _ stride: Int) {
        eachInput(rows, rowBytes, count, x, y, stride) { row, input in sixBits(row, input, x.blocksPerRow) }
    }

    @inline(__always)
    static func eachInput(_ rows: UnsafeRawPointer, _ rowBytes: Int, _ count: Int, _ x: ActivationBlocks,
                          _ y: UnsafeMutablePointer<Float>, _ stride: Int, _ dot: (UnsafeRawPointer, InputRow) -> Float) {
        for i in 0..<x.inputs {
            let input = x.row(i)
            for r in 0..<count { y[i * stride + r] = dot(rows + r * rowBytes, input) }
        }
    }

    /// Q4_K (144 bytes: f16 d, f16 dmin, 12 bytes of 6-bit scales and minimums, nibbles at 16 + 32j holding
    /// sub-blocks 2j (low) and 2j+1 (high)); Q5_K (176 bytes: the same with 32 bytes of fifth bits at 16, bit s
    /// of byte e for value e of sub-block s, and the nibbles at 48).
    @inline(__always)
    static func fourOrFiveBits(_ row: UnsafeRawPointer, _ x: InputRow, _ blocks: Int, fifth: Bool) -> Float {
        let blockBytes = fifth ? 176 : 144, nibbles = fifth ? 48 : 16
        var sums = (_mm512_setzero_ps(), _mm512_setzero_ps()), minimums = _mm256_setzero_ps()
        let low4 = _mm512_set1_epi8(0x0F), sixteen = _mm512_set1_epi8(0x10)
        for block in 0..<(blocks / 8) {
            let p = row + blockBytes * block, first = 8 * block
            let d = Lanes512.halves(Lanes512.u32(p))   // [d, dmin]
            let k = KScales(p + 4)
            let scales = _mm256_mul_ps(_mm256_broadcastss_ps(d), floats(bytes: k.scales))
            let mins = _mm256_mul_ps(_mm256_broadcastss_ps(_mm_movehdup_ps(d)), floats(bytes: k.minimums))
            minimums = _mm256_fmadd_ps(mins, _mm256_loadu_ps(x.sums + first), minimums)
            let factors = _mm512_castps256_ps512(_mm256_mul_ps(scales, _mm256_loadu_ps(x.scales + first)))
            let fifthBits = fifth ? _mm512_broadcast_i64x4(Lanes512.load256(p + 16)) : _mm512_setzero_si512()
            for pair in 0..<4 {
                // Low nibbles (sub-block 2·pair) in the low half, high nibbles (2·pair + 1) in the high half.
                let bytes = _mm512_broadcast_i64x4(Lanes512.load256(p + nibbles + 32 * pair))
                var w = _mm512_and_si512(_mm512_srlv_epi64(bytes, _mm512_set_epi64(4, 4, 4, 4, 0, 0, 0, 0)), low4)
                if fifth {
                    let select = Lanes512.join(_mm256_set1_epi8(Int8(bitPattern: UInt8(1 << (2 * pair)))),
                                               _mm256_set1_epi8(Int8(bitPattern: UInt8(2 << (2 * pair)))))
                    w = _mm512_or_si512(w, _mm512_maskz_mov_epi8(_mm512_test_epi8_mask(fifthBits, select), sixteen))
                }
                let dots = _mm512_dpbusd_epi32(_mm512_setzero_si512(), w, x.quants2(first + 2 * pair))
                let lo = Int32(2 * pair), hi = Int32(2 * pair + 1)
                let factor = _mm512_permutexvar_ps(_mm512_set_epi32(hi, hi, hi, hi, hi, hi, hi, hi, lo, lo, lo, lo, lo, lo, lo, lo), factors)
                if pair & 1 == 0 {
                    sums.0 = _mm512_fmadd_ps(factor, _mm512_cvtepi32_ps(dots), sums.0)
                } else {
                    sums.1 = _mm512_fmadd_ps(factor, _mm512_cvtepi32_ps(dots), sums.1)
                }
            }
        }
        return Lanes512.sum(_mm512_add_ps(sums.0, sums.1)) - Lanes512.sum(minimums)
    }

    /// Q6_K: 210 bytes; values q − 32, q six bits from a nibble (128 bytes at 0) and a bit pair (64 bytes at 128),
    /// one int8 scale per 16 values (16 bytes at 192), f16 d at 208. Sub-blocks 4h and 4h+1 are the low nibbles of
    /// bytes 64h…64h+63, 4h+2 and 4h+3 their high nibbles; their bit pairs sit at 128 + 32h, shifted by 0, 2, 4, 6.
    @inline(__always)
    static func sixBits(_ row: UnsafeRawPointer, _ x: InputRow, _ blocks: Int) -> Float {
        var sums = (_mm512_setzero_ps(), _mm512_setzero_ps())
        let low4 = _mm512_set1_epi8(0x0F), two = _mm512_set1_epi8(3), offset = _mm512_set1_epi8(32)
        let zero = _mm512_setzero_si512()
        for block in 0..<(blocks / 8) {
            let p = row + 210 * block, first = 8 * block
            // d·scale·dx for each group of 16 values (group g in sub-block g/2).
            let dx = _mm512_permutexvar_ps(_mm512_set_epi32(7, 7, 6, 6, 5, 5, 4, 4, 3, 3, 2, 2, 1, 1, 0, 0),
                                           _mm512_castps256_ps512(_mm256_loadu_ps(x.scales + first)))
            let scales = _mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(Lanes512.load128(p + 192)))
            let d = _mm512_broadcastss_ps(Lanes512.halves(Lanes512.u16(p + 208)))
            let factors = _mm512_mul_ps(_mm512_mul_ps(d, scales), dx)
            for half in 0..<2 {
                let nibbleBytes = Lanes512.load(p + 64 * half)
                let pairBytes = _mm512_broadcast_i64x4(Lanes512.load256(p + 128 + 32 * half))
                for upper in 0..<2 {
                    let low = _mm512_and_si512(upper == 0 ? nibbleBytes : _mm512_srli_epi16(nibbleBytes, 4), low4)
                    let shift = Int64(4 * upper)
                    let pairs = _mm512_and_si512(_mm512_srlv_epi64(pairBytes, _mm512_set_epi64(shift + 2, shift + 2, shift + 2, shift + 2,
                                                                                              shift, shift, shift, shift)), two)
                    let q = _mm512_or_si512(low, _mm512_slli_epi16(pairs, 4))
                    let sub = 4 * half + 2 * upper
                    let xq = x.quants2(first + sub)
                    let dots = _mm512_sub_epi32(_mm512_dpbusd_epi32(zero, q, xq), _mm512_dpbusd_epi32(zero, offset, xq))
                    let g = Int32(2 * sub)
                    let factor = _mm512_permutexvar_ps(_mm512_set_epi32(g + 3, g + 3, g + 3, g + 3, g + 2, g + 2, g + 2, g + 2,
                                                                        g + 1, g + 1, g + 1, g + 1, g, g, g, g), factors)
                    if upper == 0 {
                        sums.0 = _mm512_fmadd_ps(factor, _mm512_cvtepi32_ps(dots), sums.0)
                    } else {
                        sums.1 = _mm512_fmadd_ps(factor, _mm512_cvtepi32_ps(dots), sums.1)
                    }
                }
            }
        }
        return Lanes512.sum(_mm512_add_ps(sums.0, sums.1))
    }

    /// Eight bytes as eight floats.
    @inline(__always)
    static func floats(bytes: UInt64) -> __m256 {
        _mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(_mm_cvtsi64_si128(Int64(bitPattern: bytes))))
    }
}

/// Q4_K/Q5_K's eight 6-bit scales and minimums from their 12 packed bytes, one per byte.
struct KScales {
    let scales: UInt64
    let minimums: UInt64

    @inline(__always)
    init(_ packed: UnsafeRawPointer) {
        // Bytes 0–3: scales 0–3 (low 6 bits), bytes 4–7: minimums 0–3; bytes 8–11: the low 4 bits of scales 4–7
        // (low nibbles) and minimums 4–7 (high nibbles), whose top 2 bits are the top bits of bytes 0–3 and 4–7.
        let u0 = UInt32(Lanes512.u32(packed)), u1 = UInt32(Lanes512.u32(packed + 4)), u2 = UInt32(Lanes512.u32(packed + 8))
        let low6: UInt32 = 0x3F3F_3F3F, low4: UInt32 = 0x0F0F_0F0F, top2: UInt32 = 0x0303_0303
        scales = UInt64(u0 & low6) | UInt64((u2 & low4) | ((u0 >> 6) & top2) << 4) << 32
        minimums = UInt64(u1 & low6) | UInt64(((u2 >> 4) & low4) | ((u1 >> 6) & top2) << 4) << 32
    }
}
#endif
