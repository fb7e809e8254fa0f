/// The instruction sets the quantized row-dot kernels come in. One binary carries every set its build allows and
/// picks one at run time from the processor's flags (`TensorKernels.chosen`), so an x86-64-v3 build runs anywhere
/// AVX2 does and uses AVX-512 where the processor has it.
public enum KernelSet: String, CaseIterable, Sendable {
    /// No integer kernels: quantized rows are dequantized to float (baseline x86-64 builds, other architectures).
    case portable
    /// AVX2 integer dot products (`vpmaddubsw`, `vpmaddwd`), 32 values per instruction pair.
    case avx2
    /// AVX-512 VNNI integer dot products (`vpdpbusd`), 64 values per instruction (module RotaryKernelsAVX512,
    /// compiled for x86-64-v4).
    case avx512

    /// The /proc/cpuinfo flags the set's code needs (x86-64-v4 is avx512f, bw, cd, dq and vl).
    public var requiredFlags: [String] {
        switch self {
        case .portable: []
        case .avx2: ["avx2", "fma", "f16c"]
        case .avx512: KernelSet.avx2.requiredFlags + ["avx512f", "avx512bw", "avx512cd", "avx512dq", "avx512vl", "avx512_vnni"]
        }
    }

    /// Whether this build has the set's kernels.
    public var isBuilt: Bool {
        #if ROTARY_AVX2
        true
        #else
        self == .portable
        #endif
    }

    /// Built, and the processor has what it needs. Without flags to read (no /proc/cpuinfo) the build's own target
    /// is assumed and nothing beyond it.
    public func isSupported(by features: ProcessorFeatures) -> Bool {
        guard isBuilt else { return false }
        if features.flags.isEmpty { return self != .avx512 }
        return requiredFlags.allSatisfy(features.flags.contains)
    }

    /// The fastest set that `isSupported(by:)`.
    public static func best(on features: ProcessorFeatures) -> KernelSet {
        allCases.last { $0.isSupported(by: features) } ?? .portable
    }
}
