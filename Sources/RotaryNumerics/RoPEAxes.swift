#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// How the rotated pairs of a head share out the axes of a multi-axis position (time, row, column, …), for
/// tokens that are image patches or video frames. Each pair still turns by one angle, position · frequency;
/// only which coordinate of the position, and which frequency, differ by layout.
public enum RoPEAxes: Sendable, Hashable {
    /// M-RoPE (Qwen2-VL's `mrope_section`): the frequency list in contiguous sections, section k turned by axis k.
    case sections([Int])
    /// Qwen3-VL's interleaved M-RoPE over three axes: pair i takes axis 1 where i % 3 == 1 and i < 3·sections[1],
    /// axis 2 where i % 3 == 2 and i < 3·sections[2], axis 0 everywhere else (so every band sees every axis).
    case interleavedSections([Int])
    /// FLUX / CogVideoX `axes_dim`: axis k owns `dims[k]` coordinates (dims[k]/2 consecutive pairs) with its own
    /// frequencies θ_j = base^(−2j/dims[k]) over its share, computed in float64 as diffusers does.
    case axesDim([Int])
    /// rotary-embedding-torch's axial `freqs_for='pixel'`: as `axesDim`, with frequencies linspace(1, max_freq/2,
    /// dims[k]/2)·π on each axis (float32), for positions in [−1, 1].
    case pixel(dims: [Int], maxFrequency: Double)
    /// RoPE-Mixed (Heo et al. 2024, timm's `RotaryEmbeddingMixed`): learned frequencies per head, `[heads][pairs][axes]`;
    /// pair i of head h turns by Σₐ position[a] · frequencies[h][i][a], summed in float32 in axis order.
    case mixed(frequencies: [Float], heads: Int, axes: Int)

    public var axisCount: Int {
        switch self {
        case .sections(let s), .interleavedSections(let s): s.count
        case .axesDim(let dims), .pixel(let dims, _): dims.count
        case .mixed(_, _, let axes): axes
        }
    }

    /// Heads with tables of their own (1: every head shares one).
    public var headCount: Int {
        if case .mixed(_, let heads, _) = self { return heads }
        return 1
    }

    /// Throws unless the layout fits a head of `pairCount` rotated pairs.
    /// - Parameter scaling: the configuration's (`axes_dim` has frequencies of its own; xPos scales by a 1-D position).
    public func validate(pairCount: Int, scaling: RoPEScaling) throws(RoPEConfigurationError) {
        func fail(_ parameter: String, _ message: String) -> RoPEConfigurationError {
            RoPEConfigurationError(parameter: parameter, message: message)
        }
        switch self {
        case .sections(let sections), .interleavedSections(let sections):
            guard !sections.isEmpty, sections.allSatisfy({ $0 >= 0 }) else {
                throw fail("axes.sections", "must be a non-empty list of pair counts >= 0")
            }
            guard sections.reduce(0, +) == pairCount else {
                throw fail("axes.sections", "must sum to the rotated pairs (\(pairCount)), got \(sections.reduce(0, +))")
            }
            if case .interleavedSections = self, sections.count != 3 {
                throw fail("axes.sections", "interleaved M-RoPE has three axes (t, h, w), got \(sections.count)")
            }
        case .axesDim(let dims), .pixel(let dims, _):
            guard !dims.isEmpty, dims.allSatisfy({ $0 >= 2 && $0 % 2 == 0 }) else {
                throw fail("axes.axes_dim", "must be a non-empty list of even dimensions >= 2")
            }
            guard dims.reduce(0, +) == 2 * pairCount else {
                throw fail("axes.axes_dim", "must sum to the rotary dimension (\(2 * pairCount)), got \(dims.reduce(0, +))")
            }
            if case .pixel(_, let maxFrequency) = self, !(maxFrequency.isFinite && maxFrequency > 0 && maxFrequency <= 1e6) {
                throw fail("axes.max_freq", "must be a finite number in (0, 1e6], got \(maxFrequency)")
            }
            if scaling != .none { throw fail("rope_type", "axes_dim sets its own frequencies per axis: only rope_type 'default' applies") }
        case .mixed(let frequencies, let heads, let axes):
            guard heads >= 1, axes >= 1, frequencies.count == heads * pairCount * axes else {
                throw fail("axes.mixed", "must be [heads][\(pairCount) pairs][axes] frequencies")
            }
            if let bad = frequencies.first(where: { !$0.isFinite || abs($0) > 1e6 }) {
                throw fail("axes.mixed", "frequencies must be finite numbers of magnitude at most 1e6, got \(bad)")
            }
            if scaling != .none { throw fail("rope_type", "mixed frequencies are given outright: only rope_type 'default' applies") }
        }
        if case .xpos = scaling { throw fail("rope_type", "xpos scales by a one-axis position: it does not apply to multi-axis positions") }
    }

    /// The axis each pair turns by, `[pairCount]`.
    public func axisOfPair(pairCount: Int) -> [Int] {
        switch self {
        case .sections(let sections):
            return sections.enumerated().flatMap { axis, count in [Int](repeating: axis, count: count) }
        case .interleavedSections(let sections):
            return (0..<pairCount).map { i in
                if i % 3 == 1 && i < 3 * sections[1] { return 1 }
                if i % 3 == 2 && i < 3 * sections[2] { return 2 }
                return 0
            }
        case .axesDim(let dims), .pixel(let dims, _):
            return dims.enumerated().flatMap { axis, dim in [Int](repeating: axis, count: dim / 2) }
        case .mixed:
            return [Int](repeating: 0, count: pairCount)   // every pair sees every axis
        }
    }
}

extension RoPEConfiguration {
    /// The table for multi-axis positions: pair i of row r turns by positions[r][axis(i)] · θ_i. Sections keep the
    /// configuration's (possibly scaled) frequencies and its float32 angle, as transformers' Qwen2-VL/Qwen3-VL;
    /// `axes_dim` computes each axis's frequencies, angles and cos/sin in float64 and rounds once, as diffusers;
    /// `pixel` works in float32 as rotary-embedding-torch. `inverse` gives the exact inverse map.
    /// - Parameters:
    ///   - positions: `[rows][axes.axisCount]`
    ///   - head: which head's frequencies (`mixed` only).
    ///   - sequenceLength: what `dynamic`/`longrope` choose by; nil means the largest coordinate + 1.
    public func table(axisPositions positions: [[Double]], axes: RoPEAxes, head: Int = 0, role: RoPERole = .query,
                      inverse: Bool = false, sequenceLength: Int? = nil) -> RoPETable {
        precondition(positions.allSatisfy { $0.count == axes.axisCount }, "one coordinate per axis")
        precondition(head < axes.headCount, "no such head")
        let pairs = pairCount
        let axisOf = axes.axisOfPair(pairCount: pairs)
        let largest = positions.joined().max() ?? 0
        var frequencies = frequencies(sequenceLength: sequenceLength ?? Int(min(max(largest, 0), Double(1 << 30)).rounded(.up)) + 1)
        let angleOf: ([Double], Int) -> Double   // (position, pair) → angle
        switch axes {
        case .sections, .interleavedSections:
            let inverseFrequencies = frequencies.inverseFrequencies
            angleOf = { p, i in Double(Float(p[axisOf[i]]) * inverseFrequencies[i]) }
        case .axesDim(let dims):
            var perPair: [Double] = []
            for dim in dims {
                for j in 0..<(dim / 2) { perPair.append(1 / pow(theta, Double(2 * j) / Double(dim))) }
            }
            frequencies.inverseFrequencies = perPair.map { Float($0) }
            angleOf = { p, i in p[axisOf[i]] * perPair[i] }
        case .pixel(let dims, let maxFrequency):
            var perPair: [Float] = []
            for dim in dims {
                // torch.linspace(1, max_freq / 2, n) in float32, then × π.
                let n = dim / 2
                for j in 0..<n { perPair.append(RoPEGrid.linspace(1, Float(maxFrequency / 2), count: n, index: j) * Float.pi) }
            }
            frequencies.inverseFrequencies = perPair
            angleOf = { p, i in Double(Float(p[axisOf[i]]) * perPair[i]) }
        case .mixed(let all, _, let axisCount):
            let base = head * pairs * axisCount
            frequencies.inverseFrequencies = (0..<pairs).map { all[base + $0 * axisCount] }
            angleOf = { p, i in
                var angle: Float = 0
                for a in 0..<axisCount { angle += Float(p[a]) * all[base + i * axisCount + a] }
                return Double(angle)
            }
        }
        let (cosTable, sinTable) = Self.cosSin(rows: positions.count, pairs: pairs,
                                               attentionScaling: Float(frequencies.attentionScaling), inverse: inverse,
                                               angle: { row, i in angleOf(positions[row], i) }, extraScale: { _, _ in 1 })
        // Row positions for the table's bookkeeping: the first axis (time, or the text position), rounded.
        return RoPETable(positions: positions.map { Int(($0.first ?? 0).rounded()) }, pairCount: pairs, cos: cosTable,
                         sin: sinTable, frequencies: frequencies)
    }

    /// Whole-number positions, `[rows][axes.axisCount]`.
    public func table(axisPositions positions: [[Int]], axes: RoPEAxes, head: Int = 0, role: RoPERole = .query,
                      inverse: Bool = false, sequenceLength: Int? = nil) -> RoPETable {
        table(axisPositions: positions.map { $0.map(Double.init) }, axes: axes, head: head, role: role, inverse: inverse,
              sequenceLength: sequenceLength)
    }

    /// Rotates `[heads][rows][headDim]` data by multi-axis positions: one table for all heads, or (mixed) one per head.
    /// - Parameter positions: `[rows][axes.axisCount]`
    public func apply(axisPositions positions: [[Double]], axes: RoPEAxes, to data: inout [Float], heads: Int,
                      role: RoPERole = .query, inverse: Bool = false, sequenceLength: Int? = nil) {
        if axes.headCount == 1 {
            apply(table(axisPositions: positions, axes: axes, role: role, inverse: inverse, sequenceLength: sequenceLength),
                  to: &data, heads: heads)
            return
        }
        apply(headPositions: [[[Double]]](repeating: positions, count: heads), axes: axes, to: &data, role: role,
              inverse: inverse, sequenceLength: sequenceLength)
    }

    /// Rotates `[heads][rows][headDim]` data with positions of its own for every head (and, mixed, its frequencies).
    /// - Parameter positions: `[heads][rows][axes.axisCount]`
    public func apply(headPositions positions: [[[Double]]], axes: RoPEAxes, to data: inout [Float], role: RoPERole = .query,
                      inverse: Bool = false, sequenceLength: Int? = nil) {
        let heads = positions.count, rows = positions.first?.count ?? 0
        precondition(axes.headCount == 1 || heads == axes.headCount, "mixed frequencies for \(axes.headCount) heads, data has \(heads)")
        precondition(data.count == heads * rows * headDim && positions.allSatisfy { $0.count == rows }, "data is not [heads][rows][headDim]")
        let headSize = rows * headDim
        data.withUnsafeMutableBufferPointer { buffer in
            for head in 0..<heads {
                let table = table(axisPositions: positions[head], axes: axes, head: axes.headCount == 1 ? 0 : head, role: role,
                                  inverse: inverse, sequenceLength: sequenceLength)
                table.cos.withUnsafeBufferPointer { c in
                    table.sin.withUnsafeBufferPointer { s in
                        RoPEKernel.rotate(buffer.baseAddress! + head * headSize, heads: 1, rows: rows, headDim: headDim,
                                          rotaryDim: rotaryDim, layout: layout, cos: c.baseAddress!, sin: s.baseAddress!)
                    }
                }
            }
        }
    }
}

/// Positions a vision-language model gives a sequence of text, then a grid of patches, then text (transformers'
/// Qwen2-VL `get_rope_index`, which FLUX's image ids follow with no text): text token p gets p on every axis; patch
/// (i₀, i₁, …) of the grid, in row-major order, gets (start + i₀, start + i₁, …) where start is the text before it;
/// the text after starts at start + the largest spatial size (the sizes after the first, time, axis of a 3-axis
/// grid; every size otherwise).
public enum RoPEGrid {
    /// - Returns: `[textBefore + Π grid + textAfter][grid.count]`
    public static func positions(grid: [Int], textBefore: Int = 0, textAfter: Int = 0) -> [[Int]] {
        precondition(!grid.isEmpty && grid.allSatisfy { $0 > 0 }, "a grid of positive sizes")
        let axes = grid.count
        var rows: [[Int]] = (0..<textBefore).map { [Int](repeating: $0, count: axes) }
        let cells = grid.reduce(1, *)
        var index = [Int](repeating: 0, count: axes)
        for _ in 0..<cells {
            rows.append(index.map { textBefore + $0 })
            var axis = axes - 1
            while axis >= 0 {
                index[axis] += 1
                if index[axis] < grid[axis] { break }
                index[axis] = 0
                axis -= 1
            }
        }
        let spatial = grid.count == 3 ? grid.dropFirst() : grid[...]
        let next = textBefore + spatial.max()!
        rows += (0..<textAfter).map { [Int](repeating: next + $0, count: axes) }
        return rows
    }

    /// rotary-embedding-torch's pixel grid: each axis linspace(−1, 1, size) (float32, as torch computes it), cells
    /// in row-major order. - Returns: `[Π grid][grid.count]`
    public static func pixelPositions(grid: [Int]) -> [[Double]] {
        let axes = grid.map { size in (0..<size).map { Double(linspace(-1, 1, count: size, index: $0)) } }
        return positions(grid: grid).map { index in index.enumerated().map { axes[$0.offset][$0.element] } }
    }

    /// Element `index` of torch.linspace(start, end, count) in float32: from the start for the first half, from the
    /// end for the second, so that both ends are exact.
    static func linspace(_ start: Float, _ end: Float, count: Int, index: Int) -> Float {
        guard count > 1 else { return start }
        let step = (end - start) / Float(count - 1)
        return index < count / 2 ? start + step * Float(index) : end - step * Float(count - 1 - index)
    }
}
