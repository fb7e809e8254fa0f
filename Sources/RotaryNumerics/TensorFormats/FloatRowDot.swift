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
        dot(HalfValues.self, row, x, n)
    }

    static func bf16(_ row: UnsafeRawPointer, _ x: UnsafePointer<Float>, _ n: Int) -> Float {
        dot(BFloatValues.self, row, x, n)
    }

    /// Σ w[i]·x[i] with four accumulators.
    @inline(__always)
    private static func dot<Values: HalfWidthValues>(_: Values.Type, _ row: UnsafeRawPointer, _ x: UnsafePointer<Float>,
                                                     _ n: Int) -> Float {
        @inline(__always) func load(_ i: Int) -> SIMD8<Float> { UnsafeRawPointer(x + i).loadUnaligned(as: SIMD8<Float>.self) }
        var s0 = SIMD8<Float>(), s1 = SIMD8<Float>(), s2 = SIMD8<Float>(), s3 = SIMD8<Float>()
        var i = 0
        while i + 32 <= n {
            s0.addProduct(Values.eight(row, i), load(i))
            s1.addProduct(Values.eight(row, i + 8), load(i + 8))
            s2.addProduct(Values.eight(row, i + 16), load(i + 16))
            s3.addProduct(Values.eight(row, i + 24), load(i + 24))
            i += 32
        }
        while i + 8 <= n { s0.addProduct(Values.eight(row, i), load(i)); i += 8 }
        var sum = ((s0 + s1) + (s2 + s3)).sum()
        while i < n { sum += Values.one(row, i) * x[i]; i += 1 }
        return sum
    }
}

/// Loads of a 16-bit float format.
private protocol HalfWidthValues {
    /// Values i…i+7.
    static func eight(_ row: UnsafeRawPointer, _ i: Int) -> SIMD8<Float>
    static func one(_ row: UnsafeRawPointer, _ i: Int) -> Float
}

private enum HalfValues: HalfWidthValues {
    @inline(__always)
    static func eight(_ row: UnsafeRawPointer, _ i: Int) -> SIMD8<Float> {
        Lanes.halves(row, 2 * i)
    }

    @inline(__always)
    static func one(_ row: UnsafeRawPointer, _ i: Int) -> Float { Float(row.loadUnaligned(fromByteOffset: 2 * i, as: Float16.self)) }
}

private enum BFloatValues: HalfWidthValues {
    @inline(__always)
    static func eight(_ row: UnsafeRawPointer, _ i: Int) -> SIMD8<Float> {
        unsafeBitCast(Lanes.shorts(row, 2 * i) &<< 16, to: SIMD8<Float>.self)
    }

    @inline(__always)
    static func one(_ row: UnsafeRawPointer, _ i: Int) -> Float {
        Float(bitPattern: UInt32(row.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self)) << 16)
    }
}
