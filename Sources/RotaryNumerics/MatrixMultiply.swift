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
}
