import Foundation
import Testing
import RotaryTestSupport
@testable import RotaryNumerics

/// Multi-axis RoPE against the reference implementations (Fixtures/multi-axis-rope.json, made by
/// scripts/golden/multi_axis_rope.py with transformers' Qwen2-VL/Qwen3-VL and diffusers' FLUX code) and its properties.
@Suite struct MultiAxisRoPETests {
    struct Case {
        let id: String
        let configuration: RoPEConfiguration
        let axes: RoPEAxes
        let grid: (grid: [Int], before: Int, after: Int)?
        let positions: [[Double]]
        let heads: Int
        let q: [Float], k: [Float], qRotated: [Float], kRotated: [Float]   // [heads][rows][headDim]
        let cos: [Float], sin: [Float]                                    // [heads or 1][rows][headDim], the reference's layout
    }

    static let cases: [Case] = {
        let url = repositoryRoot().appendingPathComponent("Tests/RotaryNumericsTests/Fixtures/multi-axis-rope.json")
        guard let data = try? Data(contentsOf: url),
              let document = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
              let cases = document["cases"] as? [[String: Any]] else { return [] }
        func floats(_ value: Any?) -> [Float] {
            ((value as? [Any]) ?? []).flatMap { item -> [Float] in
                if let number = item as? NSNumber { return [number.floatValue] }
                return floats(item)
            }
        }
        return cases.map { c in
            let rope = c["rope"] as! [String: Any], axes = c["axes"] as! [String: Any]
            let scaling: RoPEScaling = rope["rope_type"] as? String == "linear"
                ? .linear(factor: (rope["factor"] as! NSNumber).doubleValue) : .none
            let configuration = try! RoPEConfiguration(headDim: c["head_dim"] as! Int, theta: (rope["rope_theta"] as? NSNumber)?.doubleValue ?? 10_000,
                                                       layout: RoPELayout(rawValue: c["layout"] as! String)!, scaling: scaling)
            let layout: RoPEAxes = if let mixed = axes["mixed"] as? [[[NSNumber]]] {
                .mixed(frequencies: mixed.joined().joined().map(\.floatValue), heads: mixed.count, axes: mixed[0][0].count)
            } else if let dims = axes["axes_dim"] as? [Int], axes["frequencies"] as? String == "pixel" {
                .pixel(dims: dims, maxFrequency: (axes["max_freq"] as! NSNumber).doubleValue)
            } else if let dims = axes["axes_dim"] as? [Int] {
                .axesDim(dims)
            } else if axes["interleaved"] as? Bool == true {
                .interleavedSections(axes["sections"] as! [Int])
            } else {
                .sections(axes["sections"] as! [Int])
            }
            let grid = (c["grid"] as? [String: Any]).flatMap { g in
                g["pixel"] == nil ? (grid: g["grid"] as! [Int], before: g["text_before"] as! Int, after: g["text_after"] as! Int) : nil
            }
            return Case(id: c["id"] as! String, configuration: configuration, axes: layout, grid: grid,
                        positions: (c["positions"] as! [[NSNumber]]).map { $0.map(\.doubleValue) },
                        heads: (c["q"] as! [Any]).count, q: floats(c["q"]), k: floats(c["k"]),
                        qRotated: floats(c["q_rot"]), kRotated: floats(c["k_rot"]), cos: floats(c["cos"]), sin: floats(c["sin"]))
        }
    }()

    static func tolerance(_ position: Int) -> Float { 1e-5 + 4e-7 * Float(position) }

    /// The golden tolerance for a row: 1e-5 + 4e-7 · its largest |angle| (bounded by Σ|coordinate| · the largest
    /// |frequency|, which for whole positions and θ ≤ 1 is at most the largest coordinate times the axis count).
    static func tolerance(_ c: Case, row: Int) -> Float {
        let largestFrequency: Float = switch c.axes {
        case .mixed(let f, _, _): f.map(abs).max() ?? 0
        case .pixel(_, let maxFrequency): Float(maxFrequency / 2) * .pi
        default: 1
        }
        let angle: Float = if case .mixed = c.axes {
            c.positions[row].map { Float(abs($0)) }.reduce(0, +) * largestFrequency
        } else {
            (c.positions[row].map { Float(abs($0)) }.max() ?? 0) * largestFrequency
        }
        return 1e-5 + 4e-7 * angle
    }

    @Test func everyLayoutHasGoldenCases() {
        #expect(Self.cases.count >= 10)
        #expect(Self.cases.contains { if case .sections = $0.axes { true } else { false } })
        #expect(Self.cases.contains { if case .interleavedSections = $0.axes { true } else { false } })
        #expect(Self.cases.contains { if case .axesDim = $0.axes { true } else { false } })
        #expect(Self.cases.contains { if case .pixel = $0.axes { true } else { false } })
        #expect(Self.cases.contains { if case .mixed = $0.axes { true } else { false } })
    }

    @Test(arguments: cases.map(\.id))
    func reproducesTheReference(id: String) throws {
        let c = Self.cases.first { $0.id == id }!
        let config = c.configuration, headDim = config.headDim, pairs = config.pairCount, rows = c.positions.count
        try c.axes.validate(pairCount: pairs, scaling: config.scaling)
        var worst: Float = 0
        for head in 0..<c.axes.headCount {
            let table = config.table(axisPositions: c.positions, axes: c.axes, head: head)
            for row in 0..<rows {
                let bound = Self.tolerance(c, row: row)
                let cos = expanded(table.cos, row: row, pairs: pairs, layout: config.layout)
                let sin = expanded(table.sin, row: row, pairs: pairs, layout: config.layout)
                for d in 0..<headDim {
                    let i = (head * rows + row) * headDim + d
                    #expect(abs(cos[d] - c.cos[i]) <= bound, "\(id) cos[\(head)][\(row)][\(d)]")
                    #expect(abs(sin[d] - c.sin[i]) <= bound, "\(id) sin[\(head)][\(row)][\(d)]")
                    worst = max(worst, abs(cos[d] - c.cos[i]) / bound, abs(sin[d] - c.sin[i]) / bound)
                }
            }
        }
        for (input, expected) in [(c.q, c.qRotated), (c.k, c.kRotated)] {
            var data = input
            config.apply(axisPositions: c.positions, axes: c.axes, to: &data, heads: c.heads)
            for (i, (got, want)) in zip(data, expected).enumerated() {
                #expect(abs(got - want) <= Self.tolerance(c, row: (i / headDim) % rows), "\(id) rotated[\(i)]")
            }
            // The inverse tables take the rotated vectors back.
            config.apply(axisPositions: c.positions, axes: c.axes, to: &data, heads: c.heads, inverse: true)
            for (got, want) in zip(data, input) { #expect(abs(got - want) <= 2e-6) }
        }
        #expect(worst <= 1, "\(id): worst cos/sin difference \(worst) of the tolerance")
    }

    /// The grid helper gives the positions transformers' Qwen2-VL assigns (text, a vision grid, text).
    @Test func gridPositionsAreQwen2VLs() {
        let withGrids = Self.cases.filter { $0.grid != nil }
        #expect(withGrids.count >= 5)
        for c in withGrids {
            let g = c.grid!
            #expect(RoPEGrid.positions(grid: g.grid, textBefore: g.before, textAfter: g.after).map { $0.map(Double.init) } == c.positions,
                    "\(c.id)")
        }
    }

    static let layouts: [(String, RoPEAxes, RoPELayout)] = [
        ("sections", .sections([4, 6, 6]), .half),
        ("interleaved", .interleavedSections([6, 5, 5]), .half),
        ("axes_dim", .axesDim([8, 12, 12]), .interleaved),
        ("pixel", .pixel(dims: [8, 12, 12], maxFrequency: 3), .interleaved),
        ("mixed", .mixed(frequencies: RoPEPropertyTests.randomVector(16 * 3, seed: 21), heads: 1, axes: 3), .half),
    ]

    /// q at P and k at P′ give the dot product of q at P + D and k at P′ + D, for a shift D on any axes.
    @Test(arguments: layouts.map(\.0))
    func dotProductsDependOnlyOnTheOffsetPerAxis(name: String) throws {
        let (_, axes, layout) = Self.layouts.first { $0.0 == name }!
        let config = try RoPEConfiguration(headDim: 32, theta: 10_000, layout: layout)
        let q = RoPEPropertyTests.randomVector(32, seed: 11), k = RoPEPropertyTests.randomVector(32, seed: 12)
        func dot(_ p: [Int], _ p2: [Int]) -> Float {
            var a = q, b = k
            config.apply(config.table(axisPositions: [p], axes: axes), to: &a)
            config.apply(config.table(axisPositions: [p2], axes: axes), to: &b)
            return zip(a, b).reduce(0) { $0 + $1.0 * $1.1 }
        }
        let reference = dot([3, 5, 2], [1, 7, 9])
        for shift in [[0, 0, 4], [0, 10, 0], [7, 0, 0], [20, 3, 100]] {
            let shifted = dot(zip([3, 5, 2], shift).map(+), zip([1, 7, 9], shift).map(+))
            #expect(abs(shifted - reference) <= 4e-5 * 32, "\(name) shift \(shift)")
        }
        // Each axis does move the product (a layout that ignored an axis would pass the line above).
        for axis in 0..<3 {
            var moved = [1, 7, 9]
            moved[axis] += 5
            #expect(abs(dot([3, 5, 2], moved) - reference) > 1e-3, "\(name): axis \(axis) has no effect")
        }
    }

    @Test(arguments: layouts.map(\.0))
    func rotationKeepsEveryPairsNorm(name: String) throws {
        let (_, axes, layout) = Self.layouts.first { $0.0 == name }!
        let config = try RoPEConfiguration(headDim: 32, theta: 10_000, layout: layout)
        let positions = [[0, 0, 0], [5, 17, 3], [300, 2, 4000]]
        let original = RoPEPropertyTests.randomVector(3 * 32, seed: 5)
        var data = original
        config.apply(config.table(axisPositions: positions, axes: axes), to: &data)
        #expect(data != original)
        func norm(_ v: ArraySlice<Float>) -> Float { v.reduce(0) { $0 + $1 * $1 }.squareRoot() }
        for row in 0..<3 {
            let range = (row * 32)..<((row + 1) * 32)
            #expect(abs(norm(data[range]) - norm(original[range])) <= 1e-5)
        }
    }

    /// One axis is today's one-axis RoPE: bit for bit for sections (same float32 angle), within float32 rounding for
    /// axes_dim (its angle is float64).
    @Test func oneAxisIsOneDimensionalRoPE() throws {
        let positions = [0, 1, 9, 100, 4095]
        for layout in [RoPELayout.half, .interleaved] {
            let config = try RoPEConfiguration(headDim: 64, theta: 500_000, layout: layout, scaling: .linear(factor: 2))
            let plain = config.table(positions: positions)
            let sections = config.table(axisPositions: positions.map { [$0] }, axes: .sections([32]))
            #expect(sections.cos == plain.cos && sections.sin == plain.sin)
            let unscaled = try RoPEConfiguration(headDim: 64, theta: 500_000, layout: layout)
            let reference = unscaled.table(positions: positions)
            let dims = unscaled.table(axisPositions: positions.map { [$0] }, axes: .axesDim([64]))
            for (i, (a, b)) in zip(dims.cos + dims.sin, reference.cos + reference.sin).enumerated() {
                #expect(abs(a - b) <= Self.tolerance(positions[(i % (positions.count * 32)) / 32]))
            }
        }
    }

    @Test func badLayoutsAreRefusedNamingTheField() {
        func message(_ axes: RoPEAxes, pairs: Int = 16, scaling: RoPEScaling = .none) -> String? {
            do { try axes.validate(pairCount: pairs, scaling: scaling); return nil } catch { return "\(error.parameter): \(error.message)" }
        }
        #expect(message(.sections([4, 6, 5]))?.hasPrefix("axes.sections: must sum to the rotated pairs (16)") == true)
        #expect(message(.interleavedSections([8, 8]))?.hasPrefix("axes.sections: interleaved M-RoPE has three axes") == true)
        #expect(message(.axesDim([8, 12, 11]))?.hasPrefix("axes.axes_dim: must be a non-empty list of even") == true)
        #expect(message(.axesDim([8, 12, 14]))?.hasPrefix("axes.axes_dim: must sum to the rotary dimension (32)") == true)
        #expect(message(.axesDim([8, 12, 12]), scaling: .linear(factor: 2))?.hasPrefix("rope_type:") == true)
        #expect(message(.sections([16]), scaling: .xpos(scaleBase: 512))?.hasPrefix("rope_type: xpos") == true)
        #expect(message(.pixel(dims: [16, 16], maxFrequency: 0))?.hasPrefix("axes.max_freq:") == true)
        #expect(message(.mixed(frequencies: [Float](repeating: 1, count: 31), heads: 1, axes: 2))?.hasPrefix("axes.mixed: must be [heads][16 pairs][axes]") == true)
        #expect(message(.mixed(frequencies: [Float](repeating: .nan, count: 32), heads: 1, axes: 2))?.hasPrefix("axes.mixed: frequencies must be finite") == true)
        #expect(message(.sections([4, 6, 6])) == nil && message(.axesDim([8, 12, 12])) == nil)
        #expect(message(.mixed(frequencies: [Float](repeating: 1, count: 64), heads: 2, axes: 2)) == nil)
    }
}

/// The two-axis decay surface against the one-axis curve it must reduce to.
@Suite struct DecaySurfaceTests {
    /// With every pair on axis 0 the surface is the one-axis curve along Δ₀, whatever Δ₁.
    @Test func oneAxisOfPairsIsTheCurve() throws {
        let config = try RoPEConfiguration(headDim: 32, theta: 10_000)
        let surface = LongTermDecay.surface(config, axes: .sections([16, 0]), maxDistance: 20, samples: 64, seed: 3)
        let curve = LongTermDecay.curve(headDim: 32, theta: 10_000, maxDistance: 20, samples: 64, seed: 3)
        #expect(abs(surface.upperBoundAtZero - curve.upperBoundAtZero) < 1e-12)
        for d0 in 0...20 {
            for d1 in 0...20 {
                #expect(abs(surface.upperBound[d0 * 21 + d1] - curve.upperBound[d0]) < 1e-5, "(\(d0), \(d1))")
                #expect(abs(surface.meanDot[d0 * 21 + d1] - curve.meanDot[d0]) < 1e-4)
            }
        }
    }

    /// Split axes: the bound is 1 at the origin, below it elsewhere, and each axis moves it.
    @Test func splitAxesDecayAlongBoth() throws {
        let config = try RoPEConfiguration(headDim: 64, theta: 100, layout: .interleaved)
        let surface = LongTermDecay.surface(config, axes: .axesDim([32, 32]), maxDistance: 12, samples: 16, seed: 1)
        #expect(surface.upperBound[0] == 1)
        #expect(surface.upperBound.dropFirst().allSatisfy { $0 < 1 })
        #expect(surface.upperBound[12 * 13] < 0.9 && surface.upperBound[12] < 0.9)
        // The bound's partial sums run over the pairs in order (axis 0's, then axis 1's): not symmetric in the axes.
        #expect(abs(surface.upperBound[5] - surface.upperBound[5 * 13]) > 1e-3)
    }
}
