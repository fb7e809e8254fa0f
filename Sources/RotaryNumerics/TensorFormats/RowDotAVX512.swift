#if ROTARY_AVX2
import RotaryKernelsAVX512

/// The AVX-512 VNNI row dots of RotaryKernelsAVX512 (compiled for x86-64-v4) as `QuantizedRowsDot`s: to be called
/// only where `KernelSet.avx512.isSupported`.
enum AVX512Kernels {
    static func kernel(for format: TensorFormat) -> TensorKernels.QuantizedRowsDot? {
        let kernel: AVX512RowDot.Format? = switch format {
        case .q4_0: .q4_0
        case .q4_1: .q4_1
        case .q5_0: .q5_0
        case .q5_1: .q5_1
        case .q8_0: .q8_0
        case .q4_K: .q4_K
        case .q5_K: .q5_K
        case .q6_K: .q6_K
        case .f32, .f16, .bf16: nil
        }
        guard let kernel else { return nil }
        return { rows, rowBytes, count, x, y, stride in
            AVX512RowDot.rows(kernel, rows, rowBytes, count, x.quants, x.scales, x.sums, x.scaleSums, x.count, x.blocksPerRow,
                              y, stride)
        }
    }
}
#endif
