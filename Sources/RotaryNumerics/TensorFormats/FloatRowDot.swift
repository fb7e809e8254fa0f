/// Row · input dot products for the half-width float formats, converting eight values at a time (F16 by the
/// processor's conversion, BF16 by a shift) and multiplying in float: exact products of the stored values, at
/// memory speed. Plain Swift SIMD, so portable.
enum FloatRowDot {
    /// - Parameters: row `[n]` stored values, x `[n]`
    typealias Kernel = (_ row: UnsafeRawPointer, _ x: UnsafePointer<Float>, _ n: Int) -> Float

    static func kernel(for format: TensorFormat) -> Kernel? {
        switch format {
        case .f16: f16
        case .bf16: bf16
        default: nil
        }
    }

    static func f16(_ row: UnsafeRawPointer, _ x: UnsafePointer<Float>, _ n: Int) -> Float {
        dot(n, x) { i in SIMD8<Float>(row.loadUnaligned(fromByteOffset: 2 * i, as: SIMD8<Float16>.self)) } scalar: { i in
            Float(row.loadUnaligned(fromByteOffset: 2 * i, as: Float16.self))
        }
    }

    static func bf16(_ row: UnsafeRawPointer, _ x: UnsafePointer<Float>, _ n: Int) -> Float {
        dot(n, x) { i in
            let wide = SIMD8<UInt32>(truncatingIfNeeded: row.loadUnaligned(fromByteOffset: 2 * i, as: SIMD8<UInt16>.self)) &<< 16
            return unsafeBitCast(wide, to: SIMD8<Float>.self)
        } scalar: { i in
            Float(bitPattern: UInt32(row.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self)) << 16)
        }
    }

    /// Σ w(i)·x[i], `eight(i)` giving w(i…i+7), with four accumulators.
    @inline(__always)
    private static func dot(_ n: Int, _ x: UnsafePointer<Float>, _ eight: (Int) -> SIMD8<Float>,
                            scalar: (Int) -> Float) -> Float {
        @inline(__always) func load(_ i: Int) -> SIMD8<Float> { UnsafeRawPointer(x + i).loadUnaligned(as: SIMD8<Float>.self) }
        var s0 = SIMD8<Float>(), s1 = SIMD8<Float>(), s2 = SIMD8<Float>(), s3 = SIMD8<Float>()
        var i = 0
        while i + 32 <= n {
            s0.addProduct(eight(i), load(i))
            s1.addProduct(eight(i + 8), load(i + 8))
            s2.addProduct(eight(i + 16), load(i + 16))
            s3.addProduct(eight(i + 24), load(i + 24))
            i += 32
        }
        while i + 8 <= n { s0.addProduct(eight(i), load(i)); i += 8 }
        var sum = ((s0 + s1) + (s2 + s3)).sum()
        while i < n { sum += scalar(i) * x[i]; i += 1 }
        return sum
    }
}
