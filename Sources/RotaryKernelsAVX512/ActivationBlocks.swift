#if ROTARY_AVX512
import _Builtin_intrinsics.intel

/// Input rows quantized to 8 bits per 32 values (RotaryNumerics' `QuantizedActivations`), as raw pointers. Internal:
/// the public kernels take its fields as arguments, so that this module defines no type whose shared (weak) value
/// witnesses, compiled for AVX-512, the linker could pick for the rest of the binary.
struct ActivationBlocks {
    /// q `[inputs][blocksPerRow][32]`
    let quants: UnsafePointer<Int8>
    /// d `[inputs][blocksPerRow]`
    let scales: UnsafePointer<Float>
    /// d·Σq `[inputs][blocksPerRow]`
    let sums: UnsafePointer<Float>
    /// `[inputs][blocksPerRow][2]`: d, d·Σq
    let scaleSums: UnsafePointer<Float>
    let inputs: Int
    let blocksPerRow: Int

    @inline(__always)
    func row(_ i: Int) -> InputRow {
        InputRow(quants: UnsafeRawPointer(quants + 32 * blocksPerRow * i), scales: scales + blocksPerRow * i,
                 sums: sums + blocksPerRow * i, scaleSums: scaleSums + 2 * blocksPerRow * i)
    }
}

/// One input of `ActivationBlocks`: quants `[blocks][32]`, scales `[blocks]`, sums `[blocks]`, scaleSums `[blocks][2]`.
struct InputRow {
    let quants: UnsafeRawPointer
    let scales: UnsafePointer<Float>
    let sums: UnsafePointer<Float>
    let scaleSums: UnsafePointer<Float>

    /// Blocks b and b + 1's 64 quants.
    @inline(__always)
    func quants2(_ b: Int) -> __m512i { Lanes512.load(quants + 32 * b) }

    /// Block b's 32 quants.
    @inline(__always)
    func quants1(_ b: Int) -> __m256i { Lanes512.load256(quants + 32 * b) }

    /// [d, d·Σq] of blocks b and b + 1: [d_b, d_b·Σq_b, d_b+1, d_b+1·Σq_b+1].
    @inline(__always)
    func scaleAndSum2(_ b: Int) -> __m128 { _mm_loadu_ps(scaleSums + 2 * b) }

    /// [d, d·Σq, 0, 0] of block b.
    @inline(__always)
    func scaleAndSum1(_ b: Int) -> __m128 { _mm_unpacklo_ps(_mm_load_ss(scales + b), _mm_load_ss(sums + b)) }
}

/// Loads and conversions shared by the kernels. The intrinsics' vector types are Swift SIMD types (`__m512` is
/// `SIMD16<Float>`, `__m512i` is `SIMD8<Int64>`).
enum Lanes512 {
    @inline(__always)
    static func load(_ p: UnsafeRawPointer) -> __m512i { _mm512_loadu_si512(p) }

    @inline(__always)
    static func load256(_ p: UnsafeRawPointer) -> __m256i { _mm256_loadu_si256(p.assumingMemoryBound(to: __m256i.self)) }

    @inline(__always)
    static func load128(_ p: UnsafeRawPointer) -> __m128i { _mm_loadu_si128(p.assumingMemoryBound(to: __m128i.self)) }

    /// Two floats at p in lanes 0 and 1.
    @inline(__always)
    static func twoFloats(_ p: UnsafePointer<Float>) -> __m128 {
        _mm_castsi128_ps(_mm_cvtsi64_si128(UnsafeRawPointer(p).loadUnaligned(as: Int64.self)))
    }

    /// f16 values packed in `bits` (low first) as floats.
    @inline(__always)
    static func halves(_ bits: UInt64) -> __m128 { _mm_cvtph_ps(_mm_cvtsi64_si128(Int64(bitPattern: bits))) }

    /// [low, high] as one 512-bit register.
    @inline(__always)
    static func join(_ low: __m256i, _ high: __m256i) -> __m512i {
        _mm512_mask_broadcast_i64x4(_mm512_castsi256_si512(low), 0xF0, high)
    }

    /// `vpdpbusd` on 256 bits (its unmasked form is a C macro, which Swift cannot call).
    @inline(__always)
    static func dot256(_ w: __m256i, _ x: __m256i) -> __m256i {
        _mm256_mask_dpbusd_epi32(_mm256_setzero_si256(), 0xFF, w, x)
    }

    @inline(__always)
    static func u16(_ p: UnsafeRawPointer) -> UInt64 { UInt64(p.loadUnaligned(as: UInt16.self)) }

    @inline(__always)
    static func u32(_ p: UnsafeRawPointer) -> UInt64 { UInt64(p.loadUnaligned(as: UInt32.self)) }

    /// Σ of the sixteen lanes.
    @inline(__always)
    static func sum(_ v: __m512) -> Float {
        sum(v.lowHalf + v.highHalf)
    }

    /// Σ of the eight lanes.
    @inline(__always)
    static func sum(_ v: __m256) -> Float {
        let four = v.lowHalf + v.highHalf
        let two = four.lowHalf + four.highHalf
        return two[0] + two[1]
    }
}
#endif
