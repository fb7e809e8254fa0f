#if ROTARY_AVX512
import _Builtin_intrinsics.intel

/// Row · activation-row dot products on quantized blocks with AVX-512 VNNI: `vpdpbusd` multiplies the weight quants
/// (made unsigned) by the 8-bit activations and sums each four into a 32-bit lane, two 32-value blocks per 512-bit
/// register; then one float multiply-add per two blocks with (weight scale · activation scale). The arithmetic is
/// that of the AVX2 kernels: offsets (Q4_0's −8, Q5_0's −16) and minimums (Q4_1, Q5_1, Q4_K, Q5_K) come from the
/// activations' per-block sums, so the integer sums are the same and only the order of float additions differs.
///
/// Each kernel: y[i·stride + r] = row r · input i for `count` consecutive rows `rowBytes` apart and every input.
/// - Parameters: rows `[count]` rows of blocks; quants `[inputs][blocksPerRow][32]` activations, scales and sums
///   `[inputs][blocksPerRow]` their d and d·Σq, scaleSums `[inputs][blocksPerRow][2]` the two side by side (see
///   `ActivationBlocks`); y `[inputs][stride]`
public enum AVX512RowDot {
    /// The formats with a kernel here.
    public enum Format: Sendable { case q4_0, q4_1, q5_0, q5_1, q8_0, q4_K, q5_K, q6_K }

    /// The one entry point (plain pointers, so no generic or inlinable code of this module is specialized elsewhere).
    public static func rows(_ format: Format, _ rows: UnsafeRawPointer, _ rowBytes: Int, _ count: Int,
                            _ quants: UnsafePointer<Int8>, _ scales: UnsafePointer<Float>, _ sums: UnsafePointer<Float>,
                            _ scaleSums: UnsafePointer<Float>, _ inputs: Int, _ blocksPerRow: Int,
                            _ y: UnsafeMutablePointer<Float>, _ stride: Int) {
        let x = ActivationBlocks(quants: quants, scales: scales, sums: sums, scaleSums: scaleSums, inputs: inputs,
                                 blocksPerRow: blocksPerRow)
        switch format {
        case .q4_0: legacy(rows, rowBytes, count, x, y, stride, Q4_0.self)
        case .q4_1: legacy(rows, rowBytes, count, x, y, stride, Q4_1.self)
        case .q5_0: legacy(rows, rowBytes, count, x, y, stride, Q5_0.self)
        case .q5_1: legacy(rows, rowBytes, count, x, y, stride, Q5_1.self)
        case .q8_0: legacy(rows, rowBytes, count, x, y, stride, Q8_0.self)
        case .q4_K: q4_K(rows, rowBytes, count, x, y, stride)
        case .q5_K: q5_K(rows, rowBytes, count, x, y, stride)
        case .q6_K: q6_K(rows, rowBytes, count, x, y, stride)
        }
    }

    /// Inputs four at a time against one row (each pair of blocks unpacked once for all four), the rest one at a
    /// time row by row (one sequential stream for the prefetcher). Both sum an input alike — pairs of blocks in two
    /// chains (pairs 0, 2, 4… of the row in one, 1, 3, 5… in the other), then the chains, the tail and the offsets —
    /// so a product does not depend on how many inputs share the call (what batched decoding needs).
    @inline(__always)
    static func legacy<Format: LegacyBlocks>(_ rows: UnsafeRawPointer, _ rowBytes: Int, _ count: Int,
                                             _ x: ActivationBlocks, _ y: UnsafeMutablePointer<Float>, _ stride: Int,
                                             _: Format.Type) {
        let blocks = x.blocksPerRow, size = Format.blockBytes
        var i = 0
        while i + 4 <= x.inputs {
            let inputs = (x.row(i), x.row(i + 1), x.row(i + 2), x.row(i + 3))
            for r in 0..<count {
                let row = rows + r * rowBytes
                let zero = _mm512_setzero_ps()
                var even = (zero, zero, zero, zero), odd = (zero, zero, zero, zero)
                var offsets = (_mm_setzero_ps(), _mm_setzero_ps(), _mm_setzero_ps(), _mm_setzero_ps())
                @inline(__always) func pair(_ b: Int, _ sums: inout (__m512, __m512, __m512, __m512)) {
                    let p = row + size * b
                    let w = Format.unpack2(p), s = Format.scales2(p)
                    accumulate2(Format.dot2(w, inputs.0.quants2(b)), s, inputs.0.scaleAndSum2(b), &sums.0, &offsets.0)
                    accumulate2(Format.dot2(w, inputs.1.quants2(b)), s, inputs.1.scaleAndSum2(b), &sums.1, &offsets.1)
                    accumulate2(Format.dot2(w, inputs.2.quants2(b)), s, inputs.2.scaleAndSum2(b), &sums.2, &offsets.2)
                    accumulate2(Format.dot2(w, inputs.3.quants2(b)), s, inputs.3.scaleAndSum2(b), &sums.3, &offsets.3)
                }
                var b = 0
                while b + 4 <= blocks {
                    pair(b, &even)
                    pair(b + 2, &odd)
                    b += 4
                }
                if b + 2 <= blocks {
                    pair(b, &even)
                    b += 2
                }
        var tails = (_mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps())
                if b < blocks {
                    let p = row + size * b
                    let w = Format.unpack1(p), s = Format.scales1(p)
                    @inline(__always) func add(_ x: InputRow, _ tail: inout __m256, _ offsets: inout __m128) {
                        accumulate1(Format.dot1(w, x.quants1(b)), s, x.scaleAndSum1(b), &tail, &offsets)
                    }
                    add(inputs.0, &tails.0, &offsets.0)
                    add(inputs.1, &tails.1, &offsets.1)
                    add(inputs.2, &tails.2, &offsets.2)
                    add(inputs.3, &tails.3, &offsets.3)
                }
                y[i * stride + r] = total(Format.self, _mm512_add_ps(even.0, odd.0), tails.0, offsets.0)
                y[(i + 1) * stride + r] = total(Format.self, _mm512_add_ps(even.1, odd.1), tails.1, offsets.1)
                y[(i + 2) * stride + r] = total(Format.self, _mm512_add_ps(even.2, odd.2), tails.2, offsets.2)
                y[(i + 3) * stride + r] = total(Format.self, _mm512_add_ps(even.3, odd.3), tails.3, offsets.3)
            }
            i += 4
        }
        while i < x.inputs {
            let input = x.row(i), out = y + i * stride
            for r in 0..<count {
                let row = rows + r * rowBytes
                // Alternate pairs in two chains of multiply-adds.
                var sums = (_mm512_setzero_ps(), _mm512_setzero_ps()), offsets = _mm_setzero_ps()
                @inline(__always) func add(_ b: Int, _ sums: inout __m512) {
                    let p = row + size * b
                    accumulate2(Format.dot2(Format.unpack2(p), input.quants2(b)), Format.scales2(p),
                                input.scaleAndSum2(b), &sums, &offsets)
                }
                var b = 0
                while b + 4 <= blocks {
                    add(b, &sums.0)
                    add(b + 2, &sums.1)
                    b += 4
                }
                if b + 2 <= blocks {
                    add(b, &sums.0)
                    b += 2
                }
                var tail = _mm256_setzero_ps()
                if b < blocks {
                    let p = row + size * b
                    accumulate1(Format.dot1(Format.unpack1(p), input.quants1(b)), Format.scales1(p),
                                input.scaleAndSum1(b), &tail, &offsets)
                }
                out[r] = total(Format.self, _mm512_add_ps(sums.0, sums.1), tail, offsets)
            }
            i += 1
        }
    }

    /// Two blocks' 32-bit partial sums into `sums`, each block's half scaled by its factor; s: the blocks'
    /// [scale, second scale] pairs, xs: the activations' [d, d·Σq] pairs.
    @inline(__always)
    static func accumulate2(_ dots: __m512i, _ s: __m128, _ xs: __m128, _ sums: inout __m512, _ offsets: inout __m128) {
        let factors = _mm_mul_ps(s, xs)   // [f_b, o_b, f_b+1, o_b+1]
        let spread = _mm512_permutexvar_ps(_mm512_set_epi32(2, 2, 2, 2, 2, 2, 2, 2, 0, 0, 0, 0, 0, 0, 0, 0),
                                           _mm512_castps128_ps512(factors))
        sums = _mm512_fmadd_ps(spread, _mm512_cvtepi32_ps(dots), sums)
        offsets = _mm_add_ps(offsets, factors)
    }

    /// One block (an odd last one): as `accumulate2`, with s and xs in lanes 0 and 1 (zeros after).
    @inline(__always)
    static func accumulate1(_ dots: __m256i, _ s: __m128, _ xs: __m128, _ sum: inout __m256, _ offsets: inout __m128) {
        let factors = _mm_mul_ps(s, xs)
        sum = _mm256_fmadd_ps(_mm256_broadcastss_ps(factors), _mm256_cvtepi32_ps(dots), sum)
        offsets = _mm_add_ps(offsets, factors)
    }

    /// Σ of the scaled partial sums plus `offset` times the second factors (lanes 1 and 3 of `offsets`).
    @inline(__always)
    static func total<Format: LegacyBlocks>(_: Format.Type, _ sums: __m512, _ tail: __m256, _ offsets: __m128) -> Float {
        Lanes512.sum(sums) + Lanes512.sum(tail) + Format.offset * (offsets[1] + offsets[3])
    }
}

/// A 32-value block format: how to unpack one block or two consecutive ones into unsigned bytes, their scales, and
/// the 32-bit dot products of those bytes with activation quants.
protocol LegacyBlocks {
    static var blockBytes: Int { get }
    /// Multiplies d·dx·Σq per block: −8 (Q4_0), −16 (Q5_0), 1 (Q4_1, Q5_1: the second scale is the minimum m), 0.
    static var offset: Float { get }
    /// [d, second scale, d', second scale'] of the blocks at p and p + blockBytes (second scale = d or m).
    static func scales2(_ p: UnsafeRawPointer) -> __m128
    /// [d, second scale, 0, 0].
    static func scales1(_ p: UnsafeRawPointer) -> __m128
    static func unpack2(_ p: UnsafeRawPointer) -> __m512i
    static func unpack1(_ p: UnsafeRawPointer) -> __m256i
    static func dot2(_ w: __m512i, _ x: __m512i) -> __m512i
    static func dot1(_ w: __m256i, _ x: __m256i) -> __m256i
}

/// Unsigned weight bytes: `vpdpbusd` as it is.
protocol UnsignedBlocks: LegacyBlocks {}

extension UnsignedBlocks {
    @inline(__always)
    static func dot2(_ w: __m512i, _ x: __m512i) -> __m512i { _mm512_dpbusd_epi32(_mm512_setzero_si512(), w, x) }

    @inline(__always)
    static func dot1(_ w: __m256i, _ x: __m256i) -> __m256i { Lanes512.dot256(w, x) }
}

/// One f16 scale at the block's start, used as both scales.
protocol SingleScale: LegacyBlocks {}

extension SingleScale {
    @inline(__always)
    static func scales2(_ p: UnsafeRawPointer) -> __m128 {
        let d = Lanes512.halves(Lanes512.u16(p) | Lanes512.u16(p + blockBytes) << 16)
        return _mm_unpacklo_ps(d, d)
    }

    @inline(__always)
    static func scales1(_ p: UnsafeRawPointer) -> __m128 {
        let d = Lanes512.halves(Lanes512.u16(p))
        return _mm_unpacklo_ps(d, d)
    }
}

/// f16 scale and f16 minimum at the block's start.
protocol ScaleAndMinimum: LegacyBlocks {}

extension ScaleAndMinimum {
    static var offset: Float { 1 }

    @inline(__always)
    static func scales2(_ p: UnsafeRawPointer) -> __m128 {
        Lanes512.halves(Lanes512.u32(p) | Lanes512.u32(p + blockBytes) << 32)
    }

    @inline(__always)
    static func scales1(_ p: UnsafeRawPointer) -> __m128 { Lanes512.halves(Lanes512.u32(p)) }
}

/// Nibbles (16 bytes at `nibbleOffset`: low nibbles values 0–15, high 16–31), and for the 5-bit formats 32 fifth
/// bits at `fifthOffset` (bit j for value j, worth 16).
protocol NibbleBlocks: UnsignedBlocks {
    static var nibbleOffset: Int { get }
    static var fifthOffset: Int? { get }
}

extension NibbleBlocks {
    @inline(__always)
    static func unpack2(_ p: UnsafeRawPointer) -> __m512i {
        let pair = _mm256_set_m128i(Lanes512.load128(p + blockBytes + nibbleOffset), Lanes512.load128(p + nibbleOffset))
        // [a, a, b, b] in 128-bit lanes, the second copy of each shifted down to its high nibbles.
        let wide = _mm512_permutexvar_epi64(_mm512_set_epi64(3, 2, 3, 2, 1, 0, 1, 0), _mm512_castsi256_si512(pair))
        let values = _mm512_and_si512(_mm512_srlv_epi64(wide, _mm512_set_epi64(4, 4, 0, 0, 4, 4, 0, 0)),
                                      _mm512_set1_epi8(0x0F))
        guard let fifthOffset else { return values }
        let bits = Lanes512.u32(p + fifthOffset) | Lanes512.u32(p + blockBytes + fifthOffset) << 32
        return _mm512_or_si512(values, _mm512_maskz_mov_epi8(bits, _mm512_set1_epi8(0x10)))
    }

    @inline(__always)
    static func unpack1(_ p: UnsafeRawPointer) -> __m256i {
        let bytes = Lanes512.load128(p + nibbleOffset)
        let values = _mm256_and_si256(_mm256_set_m128i(_mm_srli_epi16(bytes, 4), bytes), _mm256_set1_epi8(0x0F))
        guard let fifthOffset else { return values }
        return _mm256_or_si256(values, _mm256_maskz_mov_epi8(UInt32(Lanes512.u32(p + fifthOffset)), _mm256_set1_epi8(0x10)))
    }
}

enum Q4_0: NibbleBlocks, SingleScale {
    static var blockBytes: Int { 18 }
    static var offset: Float { -8 }
    static var nibbleOffset: Int { 2 }
    static var fifthOffset: Int? { nil }
}

enum Q4_1: NibbleBlocks, ScaleAndMinimum {
    static var blockBytes: Int { 20 }
    static var nibbleOffset: Int { 4 }
    static var fifthOffset: Int? { nil }
}

enum Q5_0: NibbleBlocks, SingleScale {
    static var blockBytes: Int { 22 }
    static var offset: Float { -16 }
    static var nibbleOffset: Int { 6 }
    static var fifthOffset: Int? { 2 }
}

enum Q5_1: NibbleBlocks, ScaleAndMinimum {
    static var blockBytes: Int { 24 }
    static var nibbleOffset: Int { 8 }
    static var fifthOffset: Int? { 4 }
}

/// Signed quants: |w| (unsigned, ≤ 128) times x with w's sign (AVX-512 has no 512-bit `vpsignb`: a masked negate).
enum Q8_0: SingleScale {
    static var blockBytes: Int { 34 }
    static var offset: Float { 0 }

    @inline(__always)
    static func unpack2(_ p: UnsafeRawPointer) -> __m512i {
        Lanes512.join(Lanes512.load256(p + 2), Lanes512.load256(p + blockBytes + 2))
    }

    @inline(__always)
    static func unpack1(_ p: UnsafeRawPointer) -> __m256i { Lanes512.load256(p + 2) }

    @inline(__always)
    static func dot2(_ w: __m512i, _ x: __m512i) -> __m512i {
        let zero = _mm512_setzero_si512()
        let signed = _mm512_mask_sub_epi8(x, _mm512_movepi8_mask(w), zero, x)
        return _mm512_dpbusd_epi32(zero, _mm512_abs_epi8(w), signed)
    }

    @inline(__always)
    static func dot1(_ w: __m256i, _ x: __m256i) -> __m256i {
        let zero = _mm256_setzero_si256()
        let signed = _mm256_mask_sub_epi8(x, _mm256_movepi8_mask(w), zero, x)
        return Lanes512.dot256(_mm256_abs_epi8(w), signed)
    }
}
#endif
