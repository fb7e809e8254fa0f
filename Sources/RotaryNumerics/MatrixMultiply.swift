import COpenBLAS

/// Matrix products through OpenBLAS (row-major, float32).
public enum MatrixMultiply {
    /// C = alpha · A · Bᵀ.
    /// - Parameters:
    ///   - a: `[m][k]`
    ///   - b: `[n][k]`
    ///   - c: `[m][n]`, overwritten
    public static func timesTransposed(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ c: UnsafeMutablePointer<Float>,
                                       m: Int, n: Int, k: Int, alpha: Float = 1) {
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, blasint(m), blasint(n), blasint(k),
                    alpha, a, blasint(k), b, blasint(k), 0, c, blasint(n))
    }

    /// C = A · B.
    /// - Parameters:
    ///   - a: `[m][k]`
    ///   - b: `[k][n]`
    ///   - c: `[m][n]`, overwritten
    public static func times(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ c: UnsafeMutablePointer<Float>,
                             m: Int, n: Int, k: Int) {
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, blasint(m), blasint(n), blasint(k),
                    1, a, blasint(k), b, blasint(n), 0, c, blasint(n))
    }

    /// C = alpha · A · Bᵀ with explicit leading dimensions (row strides), for views into wider rows.
    /// - Parameters: a `[m][k]` rows `lda` apart, b `[n][k]` rows `ldb` apart, c `[m][n]` rows `ldc` apart.
    public static func timesTransposed(_ a: UnsafePointer<Float>, lda: Int, _ b: UnsafePointer<Float>, ldb: Int,
                                       _ c: UnsafeMutablePointer<Float>, ldc: Int, m: Int, n: Int, k: Int, alpha: Float = 1) {
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, blasint(m), blasint(n), blasint(k),
                    alpha, a, blasint(lda), b, blasint(ldb), 0, c, blasint(ldc))
    }

    /// C = A · B with explicit leading dimensions.
    /// - Parameters: a `[m][k]` rows `lda` apart, b `[k][n]` rows `ldb` apart, c `[m][n]` rows `ldc` apart.
    public static func times(_ a: UnsafePointer<Float>, lda: Int, _ b: UnsafePointer<Float>, ldb: Int,
                             _ c: UnsafeMutablePointer<Float>, ldc: Int, m: Int, n: Int, k: Int) {
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, blasint(m), blasint(n), blasint(k),
                    1, a, blasint(lda), b, blasint(ldb), 0, c, blasint(ldc))
    }

    /// y = W · x.
    /// - Parameters: w `[rows][columns]`, x `[columns]`, y `[rows]`
    public static func matrixVector(_ w: UnsafePointer<Float>, _ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>,
                                    rows: Int, columns: Int) {
        cblas_sgemv(CblasRowMajor, CblasNoTrans, blasint(rows), blasint(columns), 1, w, blasint(columns), x, 1, 0, y, 1)
    }
}
