#if ROTARY_AVX2
import _Builtin_intrinsics.intel

/// Row · activation-row dot products on quantized blocks in AVX2 integers: weight quants (made unsigned) times
/// 8-bit activations by `vpmaddubsw`/`vpmaddwd`, eight 32-bit partial sums per 32 values, then one float
/// multiply-add per 32 values with (weight scale · activation scale). Offsets (Q4_0's −8, Q5_0's −16) and
/// minimums (Q4_1, Q5_1, Q4_K, Q5_K) come from the activations' per-block sums. The intrinsics' vector types are
/// Swift SIMD types (`__m256` is `SIMD8<Float>`, `__m256i` is `SIMD4<Int64>`).
enum AVX2RowDot {
    static func kernel(for format: TensorFormat) -> TensorKernels.QuantizedRowsDot? {
        switch format {
        case .q4_0: q4_0
        case .q4_1: q4_1
        case .q5_0: q5_0
        case .q5_1: q5_1
        case .q8_0: q8_0
        case .q4_K: { rows, rowBytes, count, x, y, stride in eachInput(rows, rowBytes, count, x, y, stride, q4_K) }
        case .q5_K: { rows, rowBytes, count, x, y, stride in eachInput(rows, rowBytes, count, x, y, stride, q5_K) }
        case .q6_K: { rows, rowBytes, count, x, y, stride in eachInput(rows, rowBytes, count, x, y, stride, q6_K) }
        case .f32, .f16, .bf16: nil
        }
    }

    /// Row by row, input by input.
    @inline(__always)
    static func eachInput(_ rows: UnsafeRawPointer, _ rowBytes: Int, _ count: Int, _ x: ActivationRows,
                          _ y: UnsafeMutablePointer<Float>, _ stride: Int,
                          _ dot: (UnsafeRawPointer, ActivationRow, Int) -> Float) {
        for i in 0..<x.count {
            let input = x.row(i)
            for r in 0..<count { y[i * stride + r] = dot(rows + r * rowBytes, input, x.blocksPerRow) }
        }
    }

    // MARK: 32-value blocks: d·Σq·x per block, plus `offset`·(scale·dx·Σq) — offset −8 for Q4_0, −16 for Q5_0,
    // 1 for Q4_1 and Q5_1, whose second scale is the block minimum m, 0 for Q8_0.

    static func q4_0(_ rows: UnsafeRawPointer, _ rowBytes: Int, _ count: Int, _ x: ActivationRows,
                     _ y: UnsafeMutablePointer<Float>, _ stride: Int) {
        legacy(rows, rowBytes, count, x, y, stride, blockBytes: 18, offset: -8,
               scales: { _mm_broadcastss_ps(half($0)) }, unpack: { nibbles($0 + 2) }, dot: pairDot)
    }

    static func q4_1(_ rows: UnsafeRawPointer, _ rowBytes: Int, _ count: Int, _ x: ActivationRows,
                     _ y: UnsafeMutablePointer<Float>, _ stride: Int) {
        legacy(rows, rowBytes, count, x, y, stride, blockBytes: 20, offset: 1,
               scales: { halves($0) }, unpack: { nibbles($0 + 4) }, dot: pairDot)
    }

    static func q5_0(_ rows: UnsafeRawPointer, _ rowBytes: Int, _ count: Int, _ x: ActivationRows,
                     _ y: UnsafeMutablePointer<Float>, _ stride: Int) {
        legacy(rows, rowBytes, count, x, y, stride, blockBytes: 22, offset: -16, scales: { _mm_broadcastss_ps(half($0)) },
               unpack: { _mm256_or_si256(nibbles($0 + 6), fifthBits($0 + 2)) }, dot: pairDot)
    }

    static func q5_1(_ rows: UnsafeRawPointer, _ rowBytes: Int, _ count: Int, _ x: ActivationRows,
                     _ y: UnsafeMutablePointer<Float>, _ stride: Int) {
        legacy(rows, rowBytes, count, x, y, stride, blockBytes: 24, offset: 1,
               scales: { halves($0) }, unpack: { _mm256_or_si256(nibbles($0 + 8), fifthBits($0 + 4)) }, dot: pairDot)
    }

    /// Signed × signed: |w| (unsigned) times x with w's sign.
    static func q8_0(_ rows: UnsafeRawPointer, _ rowBytes: Int, _ count: Int, _ x: ActivationRows,
                     _ y: UnsafeMutablePointer<Float>, _ stride: Int) {
        legacy(rows, rowBytes, count, x, y, stride, blockBytes: 34, offset: 0, scales: { _mm_broadcastss_ps(half($0)) },
               unpack: { load($0 + 2) }, dot: { w, xq in pairDot(_mm256_sign_epi8(w, w), _mm256_sign_epi8(xq, w)) })
    }

    /// Inputs four at a time against one row (each block unpacked once for all four), the rest one at a time
    /// row by row. Every input's sum is formed in the same order either way — even and odd blocks in two chains of
    /// multiply-adds, the offsets in one chain in block order — so an input's result does not depend on how many
    /// inputs share the call or where it sits among them (what batched decoding relies on).
    /// - Parameters: scales: a block's [scale, second scale] (any lanes after); unpack: its quants as bytes;
    ///   dot: the eight partial sums of unpacked quants times an input block
    @inline(__always)
    static func legacy(_ rows: UnsafeRawPointer, _ rowBytes: Int, _ count: Int, _ x: ActivationRows,
                       _ y: UnsafeMutablePointer<Float>, _ stride: Int, blockBytes: Int, offset: Float,
                       scales: (UnsafeRawPointer) -> __m128, unpack: (UnsafeRawPointer) -> __m256i,
                       dot: (__m256i, __m256i) -> __m256) {
        let blocks = x.blocksPerRow
        var i = 0
        while i + 4 <= x.count {
            let x0 = x.row(i), x1 = x.row(i + 1), x2 = x.row(i + 2), x3 = x.row(i + 3)
            for r in 0..<count {
                let row = rows + r * rowBytes
                let zero = _mm256_setzero_ps()
                var even = (zero, zero, zero, zero), odd = (zero, zero, zero, zero)
                var offsets = (_mm_setzero_ps(), _mm_setzero_ps(), _mm_setzero_ps(), _mm_setzero_ps())
                @inline(__always) func block(_ b: Int, _ sums: inout (__m256, __m256, __m256, __m256)) {
                    let p = row + blockBytes * b
                    let w = unpack(p), s = scales(p)
                    @inline(__always) func add(_ x: ActivationRow, _ sum: inout __m256, _ offsets: inout __m128) {
                        let factors = _mm_mul_ps(s, x.scaleAndSum(b))
                        sum = _mm256_fmadd_ps(_mm256_broadcastss_ps(factors), dot(w, x.quants(b)), sum)
                        offsets = _mm_add_ps(offsets, factors)
                    }
                    add(x0, &sums.0, &offsets.0)
                    add(x1, &sums.1, &offsets.1)
                    add(x2, &sums.2, &offsets.2)
                    add(x3, &sums.3, &offsets.3)
                }
                var b = 0
                while b + 2 <= blocks {
                    block(b, &even)
                    block(b + 1, &odd)
                    b += 2
                }
                if b < blocks { block(b, &even) }
                y[i * stride + r] = horizontalSum(_mm256_add_ps(even.0, odd.0)) + offset * offsets.0[1]
                y[(i + 1) * stride + r] = horizontalSum(_mm256_add_ps(even.1, odd.1)) + offset * offsets.1[1]
                y[(i + 2) * stride + r] = horizontalSum(_mm256_add_ps(even.2, odd.2)) + offset * offsets.2[1]
                y[(i + 3) * stride + r] = horizontalSum(_mm256_add_ps(even.3, odd.3)) + offset * offsets.3[1]
            }
            i += 4
        }
        while i < x.count {
            Self.rows(rows, rowBytes, count, x.row(i), blocks, y + i * stride, blockBytes: blockBytes, offset: offset,
                     scales: scales, partial: { p, xq in dot(unpack(p), xq) })
            i += 1
        }
    }

    /// One input, row after row: one sequential stream for the prefetcher (two rows side by side measured 2–4×
    /// slower on matrices beyond the L2), with even and odd blocks in separate chains of multiply-adds and the
    /// offsets in one, as `legacy` sums each of four inputs.
    @inline(__always)
    static func rows(_ rows: UnsafeRawPointer, _ rowBytes: Int, _ count: Int, _ x: ActivationRow, _ blocks: Int,
                     _ y: UnsafeMutablePointer<Float>, blockBytes: Int, offset: Float,
                     scales: (UnsafeRawPointer) -> __m128, partial: (UnsafeRawPointer, __m256i) -> __m256) {
        for r in 0..<count {
            let row = rows + r * rowBytes
            var sums = (_mm256_setzero_ps(), _mm256_setzero_ps()), offsets = _mm_setzero_ps()
            @inline(__always) func add(_ b: Int, _ sums: inout __m256) {
                let p = row + blockBytes * b
                let factors = _mm_mul_ps(scales(p), x.scaleAndSum(b))
                sums = _mm256_fmadd_ps(_mm256_broadcastss_ps(factors), partial(p, x.quants(b)), sums)
                offsets = _mm_add_ps(offsets, factors)
            }
            var b = 0
            while b + 2 <= blocks {
                add(b, &sums.0)
                add(b + 1, &sums.1)
                b += 2
            }
            if b < blocks { add(b, &sums.0) }
            y[r] = horizontalSum(_mm256_add_ps(sums.0, sums.1)) + offset * offsets[1]
        }
    }

    /// Σ of the eight lanes, as a tree.
    @inline(__always)
    static func horizontalSum(_ v: __m256) -> Float {
        let four = v.lowHalf + v.highHalf
        let two = four.lowHalf + four.highHalf
        return two[0] + two[1]
    }

    // MARK: Shared pieces

    /// Σ of u·s over each group of four bytes, as eight floats: u unsigned (≤ 128), s signed. The pairs' 16-bit
    /// sums cannot saturate: 2·128·127 < 32768.
    @inline(__always)
    static func pairDot(_ u: __m256i, _ s: __m256i) -> __m256 {
        _mm256_cvtepi32_ps(_mm256_madd_epi16(_mm256_maddubs_epi16(u, s), _mm256_set1_epi16(1)))
    }

    /// 16 bytes of nibbles as 32 bytes: low nibbles first (values 0–15), then high (16–31).
    @inline(__always)
    static func nibbles(_ p: UnsafeRawPointer) -> __m256i {
        let bytes = _mm_loadu_si128(p.assumingMemoryBound(to: __m128i.self))
        return _mm256_and_si256(_mm256_set_m128i(_mm_srli_epi16(bytes, 4), bytes), _mm256_set1_epi8(0x0F))
    }

    /// 32 bits (bit j for value j) as 32 bytes of 0x10 or 0.
    @inline(__always)
    static func fifthBits(_ p: UnsafeRawPointer) -> __m256i {
        let bits = _mm256_set1_epi32(Int32(bitPattern: p.loadUnaligned(as: UInt32.self)))
        // Byte j takes byte j/8 of the bits, then keeps its own bit j % 8.
        let spread = _mm256_shuffle_epi8(bits, _mm256_set_epi64x(0x0303_0303_0303_0303, 0x0202_0202_0202_0202,
                                                                  0x0101_0101_0101_0101, 0))
        let mask = _mm256_set1_epi64x(Int64(bitPattern: 0x8040_2010_0804_0201))
        return _mm256_and_si256(_mm256_cmpeq_epi8(_mm256_and_si256(spread, mask), mask), _mm256_set1_epi8(0x10))
    }

    @inline(__always)
    static func load(_ p: UnsafeRawPointer) -> __m256i { _mm256_loadu_si256(p.assumingMemoryBound(to: __m256i.self)) }

    /// The f16 at p in lane 0. (Through an integer register: a scalar f16 load would merge into, and so wait on,
    /// whatever the destination register last held.)
    @inline(__always)
    static func half(_ p: UnsafeRawPointer) -> __m128 {
        _mm_cvtph_ps(_mm_cvtsi32_si128(Int32(p.loadUnaligned(as: UInt16.self))))
    }

    /// The two f16 at p in lanes 0 and 1.
    @inline(__always)
    static func halves(_ p: UnsafeRawPointer) -> __m128 {
        _mm_cvtph_ps(_mm_cvtsi32_si128(Int32(bitPattern: p.loadUnaligned(as: UInt32.self))))
    }

    /// Eight bytes as eight floats.
    @inline(__always)
    static func floats(bytes: UInt64) -> __m256 {
        _mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(_mm_cvtsi64_si128(Int64(bitPattern: bytes))))
    }

    /// Lane i of v in every lane.
    @inline(__always)
    static func lane(_ v: __m256, _ i: Int32) -> __m256 { _mm256_permutevar8x32_ps(v, _mm256_set1_epi32(i)) }
}

extension ActivationRow {
    /// Block b's 32 quants.
    @inline(__always)
    func quants(_ b: Int) -> __m256i { AVX2RowDot.load(base + 32 * b) }

    /// [d, d·Σq, 0, 0] of block b.
    @inline(__always)
    func scaleAndSum(_ b: Int) -> __m128 { _mm_unpacklo_ps(_mm_load_ss(scales + b), _mm_load_ss(sums + b)) }
}
#endif
