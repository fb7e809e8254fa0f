#if ROTARY_AVX2
import RotaryKernelsAVX512

/// The AVX-512 VNNI row dots of RotaryKernelsAVX512 (compiled for x86-64-v4) as `QuantizedRowsDot`s: to be called
/// only where `KernelSet.avx512.isSupported`.
enum AVX512Kernels {
    typealias RawRowsDot = (_ rows: UnsafeRawPointer, _ rowBytes: Int, _ count: Int, _ quants: UnsafePointer<Int8>,
                            _ scales: UnsafePointer<Float>, _ sums: UnsafePointer<Float>, _ inputs: Int,
                            _ blocksPerRow: Int, _ y: UnsafeMutablePointer<Float>, _ stride: Int) -> Void

    static func kernel(for format: TensorFormat) -> TensorKernels.QuantizedRowsDot? {
        let raw: RawRowsDot? = switch format {
        case .q4_0: AVX512RowDot.q4_0
        case .q4_1: AVX512RowDot.q4_1
        case .q5_0: AVX512RowDot.q5_0
        case .q5_1: AVX512RowDot.q5_1
        case .q8_0: AVX512RowDot.q8_0
        case .q4_K: AVX512RowDot.q4_K
        case .q5_K: AVX512RowDot.q5_K
        case .q6_K: AVX512RowDot.q6_K
        case .f32, .f16, .bf16: nil
        }
        guard let raw else { return nil }
        return { rows, rowBytes, count, x, y, stride in
            raw(rows, rowBytes, count, x.quants, x.scales, x.sums, x.count, x.blocksPerRow, y, stride)
        }
    }
}
#endif
