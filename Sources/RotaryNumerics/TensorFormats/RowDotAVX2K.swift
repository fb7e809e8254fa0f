#if ROTARY_AVX2
import _Builtin_intrinsics.intel

/// K-quant rows against 32-value activation blocks: each 32-value sub-block meets one activation block, so its
/// factor is (d·scale)·dx, vectorised over a block's eight sub-blocks. Four accumulators keep the multiply-adds
/// from waiting on each other.
extension AVX2RowDot {
    /// Q4_K: 144 bytes; nibble bytes 16 + 32j… hold sub-blocks 2j (low) and 2j+1 (high).
    static func q4_K(_ row: UnsafeRawPointer, _ x: ActivationRow, _ blocks: Int) -> Float {
        var sums = (_mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps())
        var minimums = _mm256_setzero_ps()
        let low4 = _mm256_set1_epi8(0x0F)
        for block in 0..<(blocks / 8) {
            let p = row + 144 * block, first = 8 * block
            let factors = scaleFactors(p, x, first, &minimums)
            for pair in 0..<4 {
                let bytes = load(p + 16 + 32 * pair)
                let low = _mm256_and_si256(bytes, low4), high = _mm256_and_si256(_mm256_srli_epi16(bytes, 4), low4)
                accumulate(&sums, pair, factors, low, high, x, first)
            }
        }
        return horizontalSum((sums.0 + sums.1) + (sums.2 + sums.3)) - horizontalSum(minimums)
    }

    /// Q5_K: 176 bytes; as Q4_K with nibbles at 48 + 32j and 32 bytes of fifth bits at 16 (bit s of byte e:
    /// value e of sub-block s).
    static func q5_K(_ row: UnsafeRawPointer, _ x: ActivationRow, _ blocks: Int) -> Float {
        var sums = (_mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps())
        var minimums = _mm256_setzero_ps()
        let low4 = _mm256_set1_epi8(0x0F), one = _mm256_set1_epi8(1)
        for block in 0..<(blocks / 8) {
            let p = row + 176 * block, first = 8 * block
            let factors = scaleFactors(p, x, first, &minimums)
            let fifth = load(p + 16)
            for pair in 0..<4 {
                let bytes = load(p + 48 + 32 * pair)
                let lowFifth = _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(fifth, Int32(2 * pair)), one), 4)
                let highFifth = _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(fifth, Int32(2 * pair + 1)), one), 4)
                let low = _mm256_or_si256(_mm256_and_si256(bytes, low4), lowFifth)
                let high = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(bytes, 4), low4), highFifth)
                accumulate(&sums, pair, factors, low, high, x, first)
            }
        }
        return horizontalSum((sums.0 + sums.1) + (sums.2 + sums.3)) - horizontalSum(minimums)
    }

    /// Q6_K: 210 bytes; values q − 32 (q six bits from a nibble and a bit pair), one int8 scale per 16 values,
    /// applied in integers by `vpmaddwd`.
    static func q6_K(_ row: UnsafeRawPointer, _ x: ActivationRow, _ blocks: Int) -> Float {
        var sums = (_mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps())
        let low4 = _mm256_set1_epi8(0x0F), two = _mm256_set1_epi8(3), offset = _mm256_set1_epi8(32)
        // Within each 128-bit lane, 16-bit lanes 0–7 take the first 16-bit value, 8–15 the second.
        let spread = _mm256_set_epi64x(0x0302_0302_0302_0302, 0x0302_0302_0302_0302,
                                       0x0100_0100_0100_0100, 0x0100_0100_0100_0100)
        for block in 0..<(blocks / 8) {
            let p = row + 210 * block, first = 8 * block
            let factors = _mm256_mul_ps(_mm256_broadcastss_ps(half(p + 208)), _mm256_loadu_ps(x.scales + first))
            let scales = _mm256_cvtepi8_epi16(_mm_loadu_si128((p + 192).assumingMemoryBound(to: __m128i.self)))
            for sub in 0..<8 {
                let half = sub / 4, quarter = sub % 4
                let nibbleBytes = load(p + 64 * half + 32 * (quarter & 1))
                let low = _mm256_and_si256(_mm256_srli_epi16(nibbleBytes, Int32(4 * (quarter / 2))), low4)
                let pairs = _mm256_and_si256(_mm256_srli_epi16(load(p + 128 + 32 * half), Int32(2 * quarter)), two)
                let q = _mm256_or_si256(low, _mm256_slli_epi16(pairs, 4))
                let xq = x.quants(first + sub)
                let products = _mm256_sub_epi16(_mm256_maddubs_epi16(q, xq), _mm256_maddubs_epi16(offset, xq))
                let scale = _mm256_shuffle_epi8(_mm256_permutevar8x32_epi32(scales, _mm256_set1_epi32(Int32(sub))), spread)
                let partial = _mm256_cvtepi32_ps(_mm256_madd_epi16(products, scale))
                let factor = lane(factors, Int32(sub))
                switch sub % 4 {
                case 0: sums.0 = _mm256_fmadd_ps(factor, partial, sums.0)
                case 1: sums.1 = _mm256_fmadd_ps(factor, partial, sums.1)
                case 2: sums.2 = _mm256_fmadd_ps(factor, partial, sums.2)
                default: sums.3 = _mm256_fmadd_ps(factor, partial, sums.3)
                }
            }
        }
        return horizontalSum((sums.0 + sums.1) + (sums.2 + sums.3))
    }

    /// Q4_K/Q5_K: the eight sub-blocks' (d·scale)·dx, and dmin·min·(dx·Σq) added to `minimums`.
    @inline(__always)
    static func scaleFactors(_ p: UnsafeRawPointer, _ x: ActivationRow, _ first: Int,
                             _ minimums: inout __m256) -> __m256 {
        let d = halves(p)   // [d, dmin]
        let k = KScales(p + 4)
        let scales = _mm256_mul_ps(_mm256_broadcastss_ps(d), floats(bytes: k.scales))
        let mins = _mm256_mul_ps(_mm256_broadcastss_ps(_mm_movehdup_ps(d)), floats(bytes: k.minimums))
        minimums = _mm256_fmadd_ps(mins, _mm256_loadu_ps(x.sums + first), minimums)
        return _mm256_mul_ps(scales, _mm256_loadu_ps(x.scales + first))
    }

    /// Sub-blocks 2·pair (quants `low`) and 2·pair + 1 (`high`) into the accumulators.
    @inline(__always)
    static func accumulate(_ sums: inout (__m256, __m256, __m256, __m256), _ pair: Int, _ factors: __m256,
                           _ low: __m256i, _ high: __m256i, _ x: ActivationRow, _ first: Int) {
        let sub = 2 * pair
        let lowFactor = lane(factors, Int32(sub)), highFactor = lane(factors, Int32(sub + 1))
        let lowSum = pairDot(low, x.quants(first + sub)), highSum = pairDot(high, x.quants(first + sub + 1))
        if pair & 1 == 0 {
            sums.0 = _mm256_fmadd_ps(lowFactor, lowSum, sums.0)
            sums.1 = _mm256_fmadd_ps(highFactor, highSum, sums.1)
        } else {
            sums.2 = _mm256_fmadd_ps(lowFactor, lowSum, sums.2)
            sums.3 = _mm256_fmadd_ps(highFactor, highSum, sums.3)
        }
    }
}
#endif
