import Foundation
import Synchronization

/// Which kernels `WeightMatrix.linear` uses, and what the processor offers beyond them.
public enum TensorKernels {
    /// Inputs from which a product dequantizes tiles for BLAS instead of dotting rows. Measured on 2 Zen 3 cores
    /// (1536×768 and 768×1536): the 32-value formats' row dots, four inputs per unpacked block, keep up to about 16
    /// inputs; K-quants and F16/BF16, one input at a time, to about 8.
    public static func promptCount(_ format: TensorFormat) -> Int {
        switch format {
        case .q4_0, .q4_1, .q5_0, .q5_1, .q8_0: 16
        default: 8
        }
    }

    /// The kernel set in use: the one `configure` chose, else the fastest this build and processor support.
    public static var chosen: KernelSet {
        let index = configured.load(ordering: .relaxed)
        return index >= 0 ? KernelSet.allCases[index] : automatic
    }

    private static let configured = Atomic<Int>(-1)   // index into KernelSet.allCases; -1 = automatic
    private static let automatic = KernelSet.best(on: .current)

    /// Chooses the kernel set (before any product runs: products in flight may use either); false, changing nothing,
    /// where this build or processor does not support it.
    @discardableResult
    public static func configure(_ set: KernelSet) -> Bool {
        guard set.isSupported(by: .current) else { return false }
        configured.store(KernelSet.allCases.firstIndex(of: set)!, ordering: .relaxed)
        return true
    }

    /// The instruction set of the kernels in use (`KernelSet`'s name).
    public static var instructionSet: String { chosen.rawValue }

    /// One line for /v1/model, e.g. "avx512; activations quantized to 8 bits per 32 values …".
    public static var description: String {
        let set = chosen
        var parts = [set.rawValue]
        switch set {
        case .avx2, .avx512:
            parts.append("activations quantized to 8 bits per 32 values and \(set == .avx512 ? "AVX-512 VNNI" : "AVX2") "
                         + "integer dot products for Q4_0, Q4_1, Q5_0, Q5_1, Q8_0 (under 16 input rows) and Q4_K, Q5_K, "
                         + "Q6_K (under 8)")
        case .portable:
            parts.append("quantized rows dequantized to float for products of under 8-16 input rows")
        }
        parts.append("F16/BF16 converted to float (under 8)")
        parts.append("longer prompts: 256-row tiles dequantized for BLAS sgemm")
        let unused = ProcessorFeatures.current.unusedExtensions(by: set)
        if !unused.isEmpty { parts.append("processor also has \(unused.joined(separator: ", ")) (unused)") }
        return parts.joined(separator: "; ")
    }

    /// y[i·stride + r] = row r · input i for `count` consecutive weight rows `rowBytes` apart and every input of
    /// `x`, in a quantized format, where this build has a kernel for it.
    /// - Parameters: rows `[count]` rows of blocks; y `[x.count][stride]`
    typealias QuantizedRowsDot = (_ rows: UnsafeRawPointer, _ rowBytes: Int, _ count: Int, _ x: ActivationRows,
                                  _ y: UnsafeMutablePointer<Float>, _ stride: Int) -> Void

    /// - Parameters: kernels: a set that `isSupported` here
    static func quantizedRowsDot(for format: TensorFormat, kernels: KernelSet = chosen) -> QuantizedRowsDot? {
        #if ROTARY_AVX2
        switch kernels {
        case .avx512: AVX512Kernels.kernel(for: format)
        case .avx2: AVX2RowDot.kernel(for: format)
        case .portable: nil
        }
        #else
        nil
        #endif
    }

    static func path(_ format: TensorFormat, count: Int) -> LinearPath {
        count >= promptCount(format) ? .tiles : .rowDots
    }
}

/// The vector extensions of the processor this runs on, from /proc/cpuinfo's flags (all false where there is none).
public struct ProcessorFeatures: Sendable, Equatable {
    public let flags: Set<String>

    /// Extensions kernels could use and would be faster with, by their /proc/cpuinfo names.
    static let beyondAVX2 = ["avx512f", "avx512bw", "avx512_vnni", "avx512_bf16", "avx_vnni"]

    public init(flags: Set<String>) { self.flags = flags }

    /// The first processor's flags in a /proc/cpuinfo text.
    public init(cpuinfo: String) {
        let line = cpuinfo.split(separator: "\n").first { $0.hasPrefix("flags") }
        let list = line.flatMap { $0.split(separator: ":", maxSplits: 1).last } ?? ""
        self.init(flags: Set(list.split(separator: " ").map(String.init)))
    }

    public static let current: ProcessorFeatures = {
        ProcessorFeatures(cpuinfo: (try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8)) ?? "")
    }()

    /// Whether the processor has what the build needs (AVX2, FMA, F16C for an AVX2 build).
    public var supportsBuild: Bool {
        #if ROTARY_AVX2
        ["avx2", "fma", "f16c"].allSatisfy(flags.contains) || flags.isEmpty   // no cpuinfo: nothing to say
        #else
        true
        #endif
    }

    /// Extensions beyond AVX2 that the processor has and the kernel set does not use (AVX-512 VNNI supersedes
    /// AVX-VNNI, its 256-bit VEX form).
    public func unusedExtensions(by set: KernelSet) -> [String] {
        let used = set.requiredFlags + (set == .avx512 ? ["avx_vnni"] : [])
        return Self.beyondAVX2.filter { flags.contains($0) && !used.contains($0) }
    }
}
