extension WeightMatrix {
    /// y = x · Wᵀ; with `exactActivations`, a product of few rows keeps the activations in float (each weight row
    /// dequantized, then float dot products) instead of rounding them to 8 bits, so that it equals a float64 product
    /// of the dequantized weights up to float rounding. Prompt-sized products are float either way.
    /// - Parameters: x `[count][columns]`, y `[count][rows]` (overwritten)
    public func linear(_ x: UnsafePointer<Float>, count: Int, _ y: UnsafeMutablePointer<Float>, exactActivations: Bool) {
        if exactActivations, floats == nil, format.isQuantized, TensorKernels.path(format, count: count) == .rowDots {
            return linear(x, count: count, y, path: .dequantizedRowDots)
        }
        linear(x, count: count, y)
    }
}
