import COpenBLAS
#if ROTARY_AVX2
import RotaryKernelsAVX512
#endif

/// Matrix products, row-major float32: OpenBLAS `sgemm` on one thread per call, with rows split over
/// the cores by `Parallel` where the work is large enough; matrix-vector products in SIMD.
public enum MatrixMultiply {
    /// Runs once, before the first product: OpenBLAS's own pool off (see `Parallel`).
    private static let singleThreadedBLAS: Void = { openblas_set_num_threads(1) }()

    /// Lets OpenBLAS use `count` threads of its own (for reference measurements); Rotary's kernels
    /// expect 1.
    public static func setBLASThreads(_ count: Int) {
        singleThreadedBLAS
        openblas_set_num_threads(Int32(count))
    }

    /// C = alpha · A · Bᵀ.
    /// - Parameters: a `[m][k]`, b `[n][k]`, c `[m][n]` (overwritten)
    public static func timesTransposed(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ c: UnsafeMutablePointer<Float>,
                                       m: Int, n: Int, k: Int, alpha: Float = 1) {
        timesTransposed(a, lda: k, b, ldb: k, c, ldc: n, m: m, n: n, k: k, alpha: alpha)
    }

    /// C = A · B.
    /// - Parameters: a `[m][k]`, b `[k][n]`, c `[m][n]` (overwritten)
    public static func times(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ c: UnsafeMutablePointer<Float>,
                             m: Int, n: Int, k: Int) {
        times(a, lda: k, b, ldb: n, c, ldc: n, m: m, n: n, k: k)
    }

    /// C = alpha · A · Bᵀ with explicit leading dimensions (row strides), for views into wider rows.
    /// - Parameters: a `[m][k]` rows `lda` apart, b `[n][k]` rows `ldb` apart, c `[m][n]` rows `ldc` apart.
    public static func timesTransposed(_ a: UnsafePointer<Float>, lda: Int, _ b: UnsafePointer<Float>, ldb: Int,
                                       _ c: UnsafeMutablePointer<Float>, ldc: Int, m: Int, n: Int, k: Int, alpha: Float = 1) {
        singleThreadedBLAS
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, blasint(m), blasint(n), blasint(k),
                    alpha, a, blasint(lda), b, blasint(ldb), 0, c, blasint(ldc))
    }

    /// C = A · B with explicit leading dimensions.
    /// - Parameters: a `[m][k]` rows `lda` apart, b `[k][n]` rows `ldb` apart, c `[m][n]` rows `ldc` apart.
    public static func times(_ a: UnsafePointer<Float>, lda: Int, _ b: UnsafePointer<Float>, ldb: Int,
                             _ c: UnsafeMutablePointer<Float>, ldc: Int, m: Int, n: Int, k: Int) {
        singleThreadedBLAS
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, blasint(m), blasint(n), blasint(k),
                    1, a, blasint(lda), b, blasint(ldb), 0, c, blasint(ldc))
    }

    /// C = beta · C + Aᵀ · B (a weight gradient: dW += dYᵀ · X).
    /// - Parameters: a `[k][m]`, b `[k][n]`, c `[m][n]`
    public static func transposedTimes(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ c: UnsafeMutablePointer<Float>,
                                       m: Int, n: Int, k: Int, beta: Float = 1) {
        singleThreadedBLAS
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, blasint(m), blasint(n), blasint(k),
                    1, a, blasint(m), b, blasint(n), beta, c, blasint(n))
    }

    /// C = beta · C + A · B with leading dimensions (beta 1 accumulates).
    /// - Parameters: a `[m][k]` rows `lda` apart, b `[k][n]` rows `ldb` apart, c `[m][n]` rows `ldc` apart.
    public static func times(_ a: UnsafePointer<Float>, lda: Int, _ b: UnsafePointer<Float>, ldb: Int,
                             _ c: UnsafeMutablePointer<Float>, ldc: Int, m: Int, n: Int, k: Int, beta: Float) {
        singleThreadedBLAS
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, blasint(m), blasint(n), blasint(k),
                    1, a, blasint(lda), b, blasint(ldb), beta, c, blasint(ldc))
    }

    /// C = beta · C + Aᵀ · B with leading dimensions.
    /// - Parameters: a `[k][m]` rows `lda` apart, b `[k][n]` rows `ldb` apart, c `[m][n]` rows `ldc` apart.
    public static func transposedTimes(_ a: UnsafePointer<Float>, lda: Int, _ b: UnsafePointer<Float>, ldb: Int,
                                       _ c: UnsafeMutablePointer<Float>, ldc: Int, m: Int, n: Int, k: Int, beta: Float) {
        singleThreadedBLAS
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, blasint(m), blasint(n), blasint(k),
                    1, a, blasint(lda), b, blasint(ldb), beta, c, blasint(ldc))
    }

    /// y = x · Wᵀ for `count` input rows (a linear layer), the rows of W split over the cores.
    /// - Parameters: x `[count][inputs]`, w `[outputs][inputs]`, y `[count][outputs]` (overwritten)
    public static func linear(_ x: UnsafePointer<Float>, count: Int, _ w: UnsafePointer<Float>, outputs: Int, inputs: Int,
                              _ y: UnsafeMutablePointer<Float>) {
        if count == 1 { return matrixVector(w, x, y, rows: outputs, columns: inputs) }
        // sgemm packs all of W on every call: for a few inputs (a prompt chunk, a decode batch) that copy costs more
        // than the products.
        if count <= rowDotInputs { return rowDots(x, count: count, w, outputs: outputs, inputs: inputs, y) }
        Parallel.forEachRange(outputs, costPerItem: count * inputs) { range in
            timesTransposed(x, lda: inputs, w + range.lowerBound * inputs, ldb: inputs, y + range.lowerBound, ldc: outputs,
                            m: count, n: range.count, k: inputs)
        }
    }

    /// Inputs up to which `linear` takes dot products row by row instead of sgemm (measured on the shipped F32
    /// model: a multiple-choice request whose prompt but its last chunk comes from the prefix cache, 4.2 → 3.0 ms).
    public static let rowDotInputs = 32

    /// y = x · Wᵀ as one dot product per output and input, each row of W read once for all the inputs: every
    /// output is what `dot` gives for that row and input alone, whatever the count.
    /// - Parameters: x `[count][inputs]`, w `[outputs][inputs]`, y `[count][outputs]` (overwritten)
    public static func rowDots(_ x: UnsafePointer<Float>, count: Int, _ w: UnsafePointer<Float>, outputs: Int, inputs: Int,
                               _ y: UnsafeMutablePointer<Float>) {
        #if ROTARY_AVX2
        // Four inputs per row where the processor has AVX-512's 32 registers (AVX2's 16 cannot hold their chains).
        if count > 1, TensorKernels.chosen == .avx512 {
            return Parallel.forEachRange(outputs, costPerItem: count * inputs, minimumWork: 1 << 16) { range in
                AVX512FloatRowDots.rows(w, columns: inputs, first: range.lowerBound, count: range.count, x, inputs: count, y,
                                        stride: outputs)
            }
        }
        #endif
        Parallel.forEachRange(outputs, costPerItem: count * inputs, minimumWork: 1 << 16) { range in
            for r in range {
                for i in 0..<count { y[i * outputs + r] = dot(w + r * inputs, x + i * inputs, inputs) }
            }
        }
    }

    /// y = W · x, rows split over the cores; runs at memory speed for large W.
    /// - Parameters: w `[rows][columns]`, x `[columns]`, y `[rows]` (overwritten)
    public static func matrixVector(_ w: UnsafePointer<Float>, _ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>,
                                    rows: Int, columns: Int) {
        Parallel.forEachRange(rows, costPerItem: columns, minimumWork: 1 << 16) { range in
            for r in range { y[r] = dot(w + r * columns, x, columns) }
        }
    }

    /// Σ a[i]·b[i] with four SIMD accumulators.
    @inline(__always)
    public static func dot(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ n: Int) -> Float {
        var s0 = SIMD8<Float>(), s1 = SIMD8<Float>(), s2 = SIMD8<Float>(), s3 = SIMD8<Float>()
        var i = 0
        while i + 32 <= n {
            s0 += load(a + i) * load(b + i)
            s1 += load(a + i + 8) * load(b + i + 8)
            s2 += load(a + i + 16) * load(b + i + 16)
            s3 += load(a + i + 24) * load(b + i + 24)
            i += 32
        }
        while i + 8 <= n { s0 += load(a + i) * load(b + i); i += 8 }
        var sum = ((s0 + s1) + (s2 + s3)).sum()
        while i < n { sum += a[i] * b[i]; i += 1 }
        return sum
    }

    @inline(__always)
    static func load(_ p: UnsafePointer<Float>) -> SIMD8<Float> { UnsafeRawPointer(p).loadUnaligned(as: SIMD8<Float>.self) }
}
