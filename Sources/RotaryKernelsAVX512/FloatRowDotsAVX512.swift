#if ROTARY_AVX512
/// F32 row · input dot products, four inputs against each row (then two, then one): every product is summed exactly as RotaryNumerics'
/// `MatrixMultiply.dot` sums one row with one input (the same eight-lane vectors, four chains of multiply-then-add
/// over 32 values, the same pairing of chains, the same scalar tail), so an input's result does not depend on how
/// many share the call. Plain SIMD8 code: compiled here only for x86-64-v4's 32 vector registers, which hold the 16
/// accumulators of four inputs; one row's loads then serve four inputs.
public enum AVX512FloatRowDots {
    /// y[i·stride + r] = row r of w · input i, for rows `first..<first + count` and every input.
    /// - Parameters: w `[rows][columns]`, x `[inputs][columns]`, y `[inputs][stride]`
    public static func rows(_ w: UnsafePointer<Float>, columns: Int, first: Int, count: Int,
                            _ x: UnsafePointer<Float>, inputs: Int, _ y: UnsafeMutablePointer<Float>, stride: Int) {
        for r in first..<(first + count) {
            let row = w + r * columns
            var i = 0
            while i + 4 <= inputs {
                let sums = four(row, x + i * columns, columns)
                y[i * stride + r] = sums.0
                y[(i + 1) * stride + r] = sums.1
                y[(i + 2) * stride + r] = sums.2
                y[(i + 3) * stride + r] = sums.3
                i += 4
            }
            if i + 2 <= inputs {
                let sums = two(row, x + i * columns, columns)
                y[i * stride + r] = sums.0
                y[(i + 1) * stride + r] = sums.1
                i += 2
            }
            if i < inputs { y[i * stride + r] = one(row, x + i * columns, columns) }
        }
    }

    /// The four chains of one input.
    struct Chains {
        var s0 = SIMD8<Float>(), s1 = SIMD8<Float>(), s2 = SIMD8<Float>(), s3 = SIMD8<Float>()

        @inline(__always)
        func total() -> Float { ((s0 + s1) + (s2 + s3)).sum() }
    }

    /// Row · four consecutive inputs.
    /// - Parameters: a `[n]`, b `[4][n]`
    @inline(__always)
    static func four(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ n: Int) -> (Float, Float, Float, Float) {
        let (b0, b1, b2, b3) = (b, b + n, b + 2 * n, b + 3 * n)
        var c0 = Chains(), c1 = Chains(), c2 = Chains(), c3 = Chains()
        var i = 0
        while i + 32 <= n {
            let w0 = load(a + i), w1 = load(a + i + 8), w2 = load(a + i + 16), w3 = load(a + i + 24)
            @inline(__always) func add(_ c: inout Chains, _ x: UnsafePointer<Float>) {
                c.s0 += w0 * load(x + i)
                c.s1 += w1 * load(x + i + 8)
                c.s2 += w2 * load(x + i + 16)
                c.s3 += w3 * load(x + i + 24)
            }
            add(&c0, b0)
            add(&c1, b1)
            add(&c2, b2)
            add(&c3, b3)
            i += 32
        }
        while i + 8 <= n {
            let w0 = load(a + i)
            c0.s0 += w0 * load(b0 + i)
            c1.s0 += w0 * load(b1 + i)
            c2.s0 += w0 * load(b2 + i)
            c3.s0 += w0 * load(b3 + i)
            i += 8
        }
        var sums = (c0.total(), c1.total(), c2.total(), c3.total())
        while i < n {
            sums.0 += a[i] * b0[i]
            sums.1 += a[i] * b1[i]
            sums.2 += a[i] * b2[i]
            sums.3 += a[i] * b3[i]
            i += 1
        }
        return sums
    }

    /// Row · two consecutive inputs.
    /// - Parameters: a `[n]`, b `[2][n]`
    @inline(__always)
    static func two(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ n: Int) -> (Float, Float) {
        let (b0, b1) = (b, b + n)
        var c0 = Chains(), c1 = Chains()
        var i = 0
        while i + 32 <= n {
            let w0 = load(a + i), w1 = load(a + i + 8), w2 = load(a + i + 16), w3 = load(a + i + 24)
            @inline(__always) func add(_ c: inout Chains, _ x: UnsafePointer<Float>) {
                c.s0 += w0 * load(x + i)
                c.s1 += w1 * load(x + i + 8)
                c.s2 += w2 * load(x + i + 16)
                c.s3 += w3 * load(x + i + 24)
            }
            add(&c0, b0)
            add(&c1, b1)
            i += 32
        }
        while i + 8 <= n {
            let w0 = load(a + i)
            c0.s0 += w0 * load(b0 + i)
            c1.s0 += w0 * load(b1 + i)
            i += 8
        }
        var sums = (c0.total(), c1.total())
        while i < n {
            sums.0 += a[i] * b0[i]
            sums.1 += a[i] * b1[i]
            i += 1
        }
        return sums
    }

    /// Row · one input.
    /// - Parameters: a `[n]`, b `[n]`
    @inline(__always)
    static func one(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ n: Int) -> Float {
        var c = Chains()
        var i = 0
        while i + 32 <= n {
            c.s0 += load(a + i) * load(b + i)
            c.s1 += load(a + i + 8) * load(b + i + 8)
            c.s2 += load(a + i + 16) * load(b + i + 16)
            c.s3 += load(a + i + 24) * load(b + i + 24)
            i += 32
        }
        while i + 8 <= n { c.s0 += load(a + i) * load(b + i); i += 8 }
        var sum = c.total()
        while i < n { sum += a[i] * b[i]; i += 1 }
        return sum
    }

    @inline(__always)
    static func load(_ p: UnsafePointer<Float>) -> SIMD8<Float> { UnsafeRawPointer(p).loadUnaligned(as: SIMD8<Float>.self) }
}
#endif
