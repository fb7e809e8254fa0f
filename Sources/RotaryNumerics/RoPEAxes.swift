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

    public var axisCount: Int {
        switch self {
        case .sections(let s), .interleavedSections(let s): s.count
        case .axesDim(let dims): dims.count
        }
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
        case .axesDim(let dims):
            guard !dims.isEmpty, dims.allSatisfy({ $0 >= 2 && $0 % 2 == 0 }) else {
                throw fail("axes.axes_dim", "must be a non-empty list of even dimensions >= 2")
            }
            guard dims.reduce(0, +) == 2 * pairCount else {
                throw fail("axes.axes_dim", "must sum to the rotary dimension (\(2 * pairCount)), got \(dims.reduce(0, +))")
            }
            if scaling != .none { throw fail("rope_type", "axes_dim sets its own frequencies per axis: only rope_type 'default' applies") }
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
        case .axesDim(let dims):
            return dims.enumerated().flatMap { axis, dim in [Int](repeating: axis, count: dim / 2) }
        }
    }
}

extension RoPEConfiguration {
    /// The table for multi-axis positions: pair i of row r turns by positions[r][axis(i)] · θ_i. Sections keep the
    /// configuration's (possibly scaled) frequencies and its float32 angle, as transformers' Qwen2-VL/Qwen3-VL;
    /// `axes_dim` computes each axis's frequencies, angles and cos/sin in float64 and rounds once, as diffusers.
    /// `inverse` gives the exact inverse map.
    /// - Parameters:
    ///   - positions: `[rows][axes.axisCount]`
    ///   - sequenceLength: what `dynamic`/`longrope` choose by; nil means the largest coordinate + 1.
    public func table(axisPositions positions: [[Int]], axes: RoPEAxes, role: RoPERole = .query,
                      inverse: Bool = false, sequenceLength: Int? = nil) -> RoPETable {
        precondition(positions.allSatisfy { $0.count == axes.axisCount }, "one coordinate per axis")
        let pairs = pairCount
        let axisOf = axes.axisOfPair(pairCount: pairs)
        let largest = positions.joined().max() ?? 0
        var frequencies = frequencies(sequenceLength: sequenceLength ?? largest + 1)
        var angleOf: (Int, Int) -> Double   // (position, pair) → angle
        switch axes {
        case .sections, .interleavedSections:
            let inverseFrequencies = frequencies.inverseFrequencies
            angleOf = { p, i in Double(Float(p) * inverseFrequencies[i]) }
        case .axesDim(let dims):
            var perPair: [Double] = []
            for dim in dims {
                for j in 0..<(dim / 2) { perPair.append(1 / pow(theta, Double(2 * j) / Double(dim))) }
            }
            frequencies.inverseFrequencies = perPair.map { Float($0) }
            angleOf = { p, i in Double(p) * perPair[i] }
        }
        let attentionScaling = Float(frequencies.attentionScaling)
        var cosTable = [Float](repeating: 0, count: positions.count * pairs)
        var sinTable = [Float](repeating: 0, count: positions.count * pairs)
        for (row, position) in positions.enumerated() {
            for i in 0..<pairs {
                let angle = angleOf(position[axisOf[i]], i)
                var c = Float(cos(angle)) * attentionScaling, s = Float(sin(angle)) * attentionScaling
                if inverse {
                    let norm = c * c + s * s
                    (c, s) = (c / norm, -s / norm)
                }
                cosTable[row * pairs + i] = c
                sinTable[row * pairs + i] = s
            }
        }
        // Row positions for the table's bookkeeping: the first axis (time, or the text position).
        return RoPETable(positions: positions.map { $0.first ?? 0 }, pairCount: pairs, cos: cosTable, sin: sinTable,
                         frequencies: frequencies)
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
}
