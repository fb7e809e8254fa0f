#if ROTARY_AVX2
import _Builtin_intrinsics.intel
#endif

/// Widening loads and conversions of eight lanes. The standard library's generic SIMD conversions are outlined
/// (a call each) once a function grows, so AVX2 builds name the instruction; portable builds use the generic ones.
enum Lanes {
    /// Eight bytes at p + offset, zero-extended.
    @inline(__always)
    static func bytes(_ p: UnsafeRawPointer, _ offset: Int) -> SIMD8<UInt32> {
        #if ROTARY_AVX2
        unsafeBitCast(_mm256_cvtepu8_epi32(_mm_loadl_epi64((p + offset).assumingMemoryBound(to: __m128i.self))),
                      to: SIMD8<UInt32>.self)
        #else
        SIMD8<UInt32>(truncatingIfNeeded: p.loadUnaligned(fromByteOffset: offset, as: SIMD8<UInt8>.self))
        #endif
    }

    /// Eight int8 at p + offset, sign-extended.
    @inline(__always)
    static func signedBytes(_ p: UnsafeRawPointer, _ offset: Int) -> SIMD8<Int32> {
        #if ROTARY_AVX2
        unsafeBitCast(_mm256_cvtepi8_epi32(_mm_loadl_epi64((p + offset).assumingMemoryBound(to: __m128i.self))),
                      to: SIMD8<Int32>.self)
        #else
        SIMD8<Int32>(truncatingIfNeeded: p.loadUnaligned(fromByteOffset: offset, as: SIMD8<Int8>.self))
        #endif
    }

    /// Eight 16-bit values at p + offset, zero-extended.
    @inline(__always)
    static func shorts(_ p: UnsafeRawPointer, _ offset: Int) -> SIMD8<UInt32> {
        #if ROTARY_AVX2
        unsafeBitCast(_mm256_cvtepu16_epi32(_mm_loadu_si128((p + offset).assumingMemoryBound(to: __m128i.self))),
                      to: SIMD8<UInt32>.self)
        #else
        SIMD8<UInt32>(truncatingIfNeeded: p.loadUnaligned(fromByteOffset: offset, as: SIMD8<UInt16>.self))
        #endif
    }

    /// Eight f16 at p + offset as floats (exact; signalling NaNs come out quiet).
    @inline(__always)
    static func halves(_ p: UnsafeRawPointer, _ offset: Int) -> SIMD8<Float> {
        #if ROTARY_AVX2
        _mm256_cvtph_ps(_mm_loadu_si128((p + offset).assumingMemoryBound(to: __m128i.self)))
        #else
        SIMD8<Float>(p.loadUnaligned(fromByteOffset: offset, as: SIMD8<Float16>.self))
        #endif
    }

    @inline(__always)
    static func floats(_ v: SIMD8<Int32>) -> SIMD8<Float> {
        #if ROTARY_AVX2
        _mm256_cvtepi32_ps(unsafeBitCast(v, to: __m256i.self))
        #else
        SIMD8<Float>(v)
        #endif
    }
}
