import ArgumentParser
import Dispatch
import Glibc
import RotaryNumerics
import RotaryService

/// In-process micro-benchmarks; `make bench` runs them beside the HTTP and reference measurements and
/// reads their `RESULT` lines.
struct Bench: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "In-process benchmarks (make bench runs them).",
        subcommands: [RopeKernel.self, RopeAxesKernel.self, RotateJSON.self, AttentionCore.self, ModelSpeed.self, TrainingSpeed.self, GenerateInProcess.self, BatchedDecode.self,
                      TokenizerSpeed.self])
}

/// Best-of-N wall time in seconds.
func bestTime(runs: Int, _ body: () -> Void) -> Double {
    var best = Double.infinity
    for _ in 0..<runs {
        var start = timespec(), end = timespec()
        clock_gettime(CLOCK_MONOTONIC, &start)
        body()
        clock_gettime(CLOCK_MONOTONIC, &end)
        best = min(best, Double(end.tv_sec - start.tv_sec) + Double(end.tv_nsec - start.tv_nsec) / 1e9)
    }
    return best
}

extension Bench {
    /// RoPE on a [heads][seq][dim] float32 tensor far larger than the L3, against a plain copy of it.
    struct RopeKernel: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "rope")
        @Option var heads = 32
        @Option var seq = 8192
        @Option var dim = 128
        @Option var runs = 10

        func run() throws {
            _ = try configureNumerics(threads: nil)   // ROTARY_COMPUTE_THREADS (else the CPUs this process may use), ROTARY_KERNELS
            let count = heads * seq * dim
            let config = try RoPEConfiguration(headDim: dim, theta: 10_000, layout: .half)
            let table = config.table(positions: Array(0..<seq))
            var data = (0..<count).map { Float($0 % 1000) / 1000 }
            var copy = [Float](repeating: 0, count: count)
            let bytes = Double(count * 4)
            // Traffic counted as stream.c counts it: bytes read + bytes written. Copy and rotation
            // alternate, so both see the same machine; the best of each is kept.
            var copyTime = Double.infinity, rotateTime = Double.infinity
            for _ in 0..<runs {
                copyTime = min(copyTime, bestTime(runs: 1) { Bench.parallelCopy(from: data, to: &copy) })
                rotateTime = min(rotateTime, bestTime(runs: 1) { config.apply(table, to: &data, heads: heads) })
            }
            print(String(format: "RESULT name=copy seconds=%.6f gbps=%.2f", copyTime, 2 * bytes / copyTime / 1e9))
            print(String(format: "RESULT name=rope_rotate seconds=%.6f gbps=%.2f ratio_to_copy=%.3f",
                         rotateTime, 2 * bytes / rotateTime / 1e9, copyTime / rotateTime))
            _ = copy[count / 2] + data[count / 3]
        }
    }

    /// Multi-axis RoPE (M-RoPE sections over a t×h×w grid) against one-axis RoPE on the same tensor, alternating:
    /// the rotation with cached tables, and the table builds.
    struct RopeAxesKernel: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "rope-axes")
        @Option var heads = 32
        @Option(help: "t,h,w of the grid; its cells are the sequence (default 8×32×32 = 8192).") var grid = "8,32,32"
        @Option var dim = 128
        @Option(help: "Pairs per axis, summing to dim/2.") var sections = "16,24,24"
        @Option var runs = 10

        func run() throws {
            _ = try configureNumerics(threads: nil)   // ROTARY_COMPUTE_THREADS (else the CPUs this process may use), ROTARY_KERNELS
            let shape = grid.split(separator: ",").compactMap { Int($0) }, split = sections.split(separator: ",").compactMap { Int($0) }
            let seq = shape.reduce(1, *), count = heads * seq * dim
            let config = try RoPEConfiguration(headDim: dim, theta: 1_000_000, layout: .half)
            let axes = RoPEAxes.sections(split)
            try axes.validate(pairCount: config.pairCount, scaling: config.scaling)
            let positions = RoPEGrid.positions(grid: shape)
            var oneAxisTable = config.table(positions: Array(0..<seq))
            var multiAxisTable = config.table(axisPositions: positions, axes: axes)
            var data = (0..<count).map { Float($0 % 1000) / 1000 }
            var one = Double.infinity, multi = Double.infinity, oneBuild = Double.infinity, multiBuild = Double.infinity
            for _ in 0..<runs {
                one = min(one, bestTime(runs: 1) { config.apply(oneAxisTable, to: &data, heads: heads) })
                multi = min(multi, bestTime(runs: 1) { config.apply(multiAxisTable, to: &data, heads: heads) })
                oneBuild = min(oneBuild, bestTime(runs: 1) { oneAxisTable = config.table(positions: Array(0..<seq)) })
                multiBuild = min(multiBuild, bestTime(runs: 1) { multiAxisTable = config.table(axisPositions: positions, axes: axes) })
            }
            let bytes = 2 * Double(count * 4)   // read + written
            print(String(format: "RESULT name=rope_one_axis seconds=%.6f gbps=%.2f table_seconds=%.6f", one, bytes / one / 1e9, oneBuild))
            print(String(format: "RESULT name=rope_multi_axis seconds=%.6f gbps=%.2f table_seconds=%.6f ratio_to_one_axis=%.3f",
                         multi, bytes / multi / 1e9, multiBuild, one / multi))
            _ = data[count / 3]
        }
    }

    /// Attention (scores + masked softmax + output) against OpenBLAS sgemm alone on the same two products.
    struct AttentionCore: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "attention")
        @Option var heads = 8
        @Option var seq = 2048
        @Option var dim = 128
        @Option var runs = 5

        func run() throws {
            _ = try configureNumerics(threads: nil)   // ROTARY_COMPUTE_THREADS (else the CPUs this process may use), ROTARY_KERNELS
            LargeBlockMemory.keepLargeBlocks()
            var generator = SplitMix64(seed: 1)
            let count = heads * seq * dim
            let q = (0..<count).map { _ in Float(generator.nextGaussian()) }
            let k = (0..<count).map { _ in Float(generator.nextGaussian()) }
            let v = (0..<count).map { _ in Float(generator.nextGaussian()) }
            let shape = AttentionShape(queryHeads: heads, keyHeads: heads, queryLength: seq, keyLength: seq, headDim: dim, valueDim: dim)
            let positions = Array(0..<seq)
            // Two products of 2·seq²·dim flops per head.
            let flops = Double(heads) * 2 * 2 * Double(seq) * Double(seq) * Double(dim)
            var scores = [Float](repeating: 0, count: heads * seq * seq)
            var output = [Float](repeating: 0, count: count)
            var weights = [Float](repeating: 0, count: heads * seq * seq)
            var gemmTime = Double.infinity, attentionTime = Double.infinity, causalTime = Double.infinity
            var allocatingTime = Double.infinity
            for _ in 0..<runs {
                // The reference: OpenBLAS with its own two threads on the same two products.
                MatrixMultiply.setBLASThreads(Parallel.threadCount)
                gemmTime = min(gemmTime, bestTime(runs: 1) {
                    q.withUnsafeBufferPointer { qp in k.withUnsafeBufferPointer { kp in v.withUnsafeBufferPointer { vp in
                        scores.withUnsafeMutableBufferPointer { sp in output.withUnsafeMutableBufferPointer { op in
                            for h in 0..<heads {
                                MatrixMultiply.timesTransposed(qp.baseAddress! + h * seq * dim, kp.baseAddress! + h * seq * dim,
                                                               sp.baseAddress! + h * seq * seq, m: seq, n: seq, k: dim)
                            }
                            for h in 0..<heads {
                                MatrixMultiply.times(sp.baseAddress! + h * seq * seq, vp.baseAddress! + h * seq * dim,
                                                     op.baseAddress! + h * seq * dim, m: seq, n: dim, k: seq)
                            }
                        } }
                    } } }
                })
                MatrixMultiply.setBLASThreads(1)
                // The kernel into preallocated buffers, as the sgemm-only run writes into preallocated buffers.
                attentionTime = min(attentionTime, bestTime(runs: 1) {
                    kernel(q, k, v, shape, positions, causal: false, weights: &weights, output: &output)
                })
                causalTime = min(causalTime, bestTime(runs: 1) {
                    kernel(q, k, v, shape, positions, causal: true, weights: &weights, output: &output)
                })
                // The allocating entry point the service uses (fresh result arrays every call).
                allocatingTime = min(allocatingTime, bestTime(runs: 1) {
                    _ = Attention.compute(queries: q, keys: k, values: v, shape: shape, positionsQ: positions, positionsK: positions,
                                          encoding: .none, causal: false)
                })
            }
            print(String(format: "RESULT name=sgemm_only seconds=%.6f gflops=%.1f", gemmTime, flops / gemmTime / 1e9))
            print(String(format: "RESULT name=attention seconds=%.6f gflops=%.1f ratio_to_sgemm=%.3f", attentionTime, flops / attentionTime / 1e9, gemmTime / attentionTime))
            print(String(format: "RESULT name=attention_causal seconds=%.6f gflops=%.1f ratio_to_sgemm=%.3f", causalTime, flops / causalTime / 1e9, gemmTime / causalTime))
            print(String(format: "RESULT name=attention_allocating seconds=%.6f gflops=%.1f ratio_to_sgemm=%.3f", allocatingTime, flops / allocatingTime / 1e9, gemmTime / allocatingTime))
        }

        /// q, k, v: `[heads][seq][dim]`; weights `[heads][seq][seq]`, output `[heads][seq][dim]`.
        func kernel(_ q: [Float], _ k: [Float], _ v: [Float], _ shape: AttentionShape, _ positions: [Int], causal: Bool,
                    weights: inout [Float], output: inout [Float]) {
            q.withUnsafeBufferPointer { qp in k.withUnsafeBufferPointer { kp in v.withUnsafeBufferPointer { vp in
                weights.withUnsafeMutableBufferPointer { wp in output.withUnsafeMutableBufferPointer { op in
                    Attention.computeEncoded(queries: qp.baseAddress!, keys: kp.baseAddress!, values: vp.baseAddress!, shape: shape,
                                             positionsQ: positions, positionsK: positions, causal: causal, scale: nil,
                                             weights: wp.baseAddress!, scores: nil, output: op.baseAddress!)
                } }
            } } }
        }
    }

    /// A copy of the buffer as stream.c's `copy` does it (a SIMD load/store loop, not memcpy), split
    /// across the cores as a rotation of it is split.
    static func parallelCopy(from source: [Float], to target: inout [Float]) {
        source.withUnsafeBufferPointer { from in
            target.withUnsafeMutableBufferPointer { to in
                let source = UnsafeRawPointer(from.baseAddress!), target = UnsafeMutableRawPointer(to.baseAddress!)
                Parallel.forEachRange(from.count / 16, costPerItem: 16) { range in
                    for block in range {
                        let offset = block * 64
                        target.storeBytes(of: source.loadUnaligned(fromByteOffset: offset, as: SIMD16<Float>.self),
                                          toByteOffset: offset, as: SIMD16<Float>.self)
                    }
                }
            }
        }
    }

    /// The whole `/rotate` JSON path on one thread: parse, decode, rotate, encode.
    struct RotateJSON: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "rotate-json")
        @Option var rows = 64
        @Option var dim = 128
        @Option var iterations = 300

        func run() throws {
            _ = try configureNumerics(threads: nil)   // ROTARY_COMPUTE_THREADS (else the CPUs this process may use), ROTARY_KERNELS
            var state: UInt64 = 42
            func next() -> Float {
                state = state &* 6364136223846793005 &+ 1442695040888963407
                return Float(Int64(bitPattern: state >> 11) % 2_000_000) / 1_000_000 - 1
            }
            let matrix = (0..<rows).map { _ in (0..<dim).map { _ in next() } }
            let body = "{\"vectors\":[" + matrix.map { "[" + $0.map { "\($0)" }.joined(separator: ",") + "]" }.joined(separator: ",") + "]}"
            let request = Array(body.utf8)
            var responseBytes = 0
            let seconds = bestTime(runs: 3) {
                for _ in 0..<iterations {
                    responseBytes = Service.benchmarkRotateJSON(request)
                }
            } / Double(iterations)
            let megabytes = Double(request.count + responseBytes) / 1e6
            print(String(format: "RESULT name=rotate_json request_bytes=%d response_bytes=%d microseconds=%.1f mbps=%.1f",
                         request.count, responseBytes, seconds * 1e6, megabytes / seconds))
        }
    }
}
