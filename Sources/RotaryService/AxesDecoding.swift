import RotaryHTTP
import RotaryJSON
import RotaryNumerics

/// Multi-axis RoPE in a request: `rope.axes` (how pairs map to axes) and positions `[rows][axes]`, given outright or
/// as `{"grid": [t, h, w], "text_before": n, "text_after": m}` (Qwen2-VL's rule, see `RoPEGrid`).
enum AxesDecoding {
    /// `rope.axes`: `{"sections": [...]}` (M-RoPE), with `"interleaved": true` (Qwen3-VL), `{"axes_dim": [...]}`
    /// (FLUX), with `"frequencies": "pixel", "max_freq": f` (rotary-embedding-torch), or `{"mixed": [heads][pairs][axes]}`
    /// (RoPE-Mixed).
    static func axes(_ value: JSONValue, path: String) throws(HTTPError) -> RoPEAxes {
        var reader = try ObjectReader(value, path: path)
        let sections = try wholeNumbers(try reader.doubles("sections"), reader.name("sections"))
        let interleaved = try reader.bool("interleaved")
        let dims = try wholeNumbers(try reader.doubles("axes_dim"), reader.name("axes_dim"))
        let frequencies = try reader.choice("frequencies", ["theta", "pixel"])
        let maxFrequency = try reader.double("max_freq")
        let mixed = try reader.value("mixed").map { v throws(HTTPError) in try mixedFrequencies(v, reader.name("mixed")) }
        try reader.finish()
        func only(_ key: String, with owner: String) throws(HTTPError) {
            throw .badRequest("\(reader.name(key)) applies to \(owner) only", param: reader.name(key))
        }
        if interleaved != nil && sections == nil { try only("interleaved", with: "sections") }
        if frequencies != nil && dims == nil { try only("frequencies", with: "axes_dim") }
        if maxFrequency != nil && frequencies != "pixel" { try only("max_freq", with: "axes_dim with frequencies pixel") }
        switch (sections, dims, mixed) {
        case (let sections?, nil, nil): return interleaved == true ? .interleavedSections(sections) : .sections(sections)
        case (nil, let dims?, nil):
            if frequencies == "pixel" { return .pixel(dims: dims, maxFrequency: maxFrequency ?? 10) }
            return .axesDim(dims)
        case (nil, nil, let mixed?): return mixed
        case (nil, nil, nil): throw .badRequest("\(path) needs sections, axes_dim or mixed", param: path)
        default: throw .badRequest("\(path) takes one of sections, axes_dim and mixed", param: path)
        }
    }

    /// `[heads][pairs][axes]` numbers, rectangular.
    private static func mixedFrequencies(_ value: JSONValue, _ field: String) throws(HTTPError) -> RoPEAxes {
        let shapeError = HTTPError.badRequest("\(field) must be [heads][pairs][axes] numbers, rectangular", param: field)
        guard case .array(let heads) = value, !heads.isEmpty else { throw shapeError }
        var flat: [Float] = [], pairCount = -1, axisCount = -1
        for head in heads {
            guard case .array(let pairs) = head, !pairs.isEmpty, pairCount == -1 || pairs.count == pairCount else { throw shapeError }
            pairCount = pairs.count
            for pair in pairs {
                guard case .numbers(let numbers) = pair, !numbers.isEmpty, axisCount == -1 || numbers.count == axisCount else {
                    throw shapeError
                }
                axisCount = numbers.count
                flat += numbers.map { Float($0) }
            }
        }
        return .mixed(frequencies: flat, heads: heads.count, axes: axisCount)
    }

    /// Checks `axes` against the configuration and the heads of the vectors it turns, naming the field.
    static func check(_ axes: RoPEAxes, _ configuration: RoPEConfiguration, heads: Int, ropePath: String) throws(HTTPError) {
        func name(_ parameter: String) -> String { ropePath.isEmpty ? parameter : "\(ropePath).\(parameter)" }
        do {
            try axes.validate(pairCount: configuration.pairCount, scaling: configuration.scaling)
        } catch {
            throw .badRequest("\(name(error.parameter)): \(error.message)", param: name(error.parameter))
        }
        if case .mixed = axes, axes.headCount != heads {
            throw .badRequest("\(name("axes.mixed")) has frequencies for \(axes.headCount) heads but the vectors have \(heads)",
                              param: name("axes.mixed"))
        }
    }

    /// At least the bytes `text` writes for any coordinate (a double's shortest form, sign and exponent included).
    static let maxCoordinateBytes = 24

    /// A coordinate as JSON: whole numbers without a fraction (`3`), others as the shortest double (`-0.6666666666666667`).
    static func text(_ coordinate: Double) -> String {
        coordinate.rounded() == coordinate && abs(coordinate) < 1e15 ? String(Int(coordinate)) : "\(coordinate)"
    }

    /// The largest |coordinate|, rounded up (what the finiteness check and `dynamic` go by).
    static func largestMagnitude(_ positions: [[Double]]) -> Int {
        Int((positions.joined().map(abs).max() ?? 0).rounded(.up))
    }

    /// `[rows][axisCount]` positions, each coordinate plus `offset`: real numbers within ±maxPosition (pixel grids
    /// lie in [−1, 1]).
    /// - Parameter field: the request field that holds them (named in errors).
    static func positions(_ value: JSONValue?, rows: Int, axisCount: Int, offset: Int, maxPosition: Int,
                          maxElements: Int, field: String = "positions") throws(HTTPError) -> [[Double]] {
        guard let value else {
            throw .badRequest("\(field) is required with multi-axis RoPE: one [\(axisCount)] coordinate list per row, or a grid",
                              param: field)
        }
        var result: [[Double]]
        switch value {
        case .object:
            var reader = try ObjectReader(value, path: field)
            guard let grid = try wholeNumbers(try reader.doubles("grid"), "\(field).grid") else {
                throw .badRequest("\(field).grid is required, e.g. [t, h, w]", param: "\(field).grid")
            }
            let before = try reader.int("text_before", in: 0...maxElements) ?? 0
            let after = try reader.int("text_after", in: 0...maxElements) ?? 0
            let pixel = try reader.bool("pixel") ?? false
            try reader.finish()
            if pixel && before + after > 0 {
                throw .badRequest("\(field).pixel grids have no text: leave out text_before and text_after", param: "\(field).pixel")
            }
            guard grid.count == axisCount else {
                throw .badRequest("\(field).grid has \(grid.count) axes but the RoPE axes have \(axisCount)", param: "\(field).grid")
            }
            guard grid.allSatisfy({ $0 > 0 }) else { throw .badRequest("\(field).grid sizes must be >= 1", param: "\(field).grid") }
            var cells = 1
            for size in grid {
                let (product, overflow) = cells.multipliedReportingOverflow(by: size)
                guard !overflow, product <= maxElements else {
                    throw .payloadTooLarge("\(field).grid has more cells than max_elements (\(maxElements))", param: "\(field).grid")
                }
                cells = product
            }
            guard before + cells + after == rows else {
                throw .badRequest("\(field) gives \(before + cells + after) rows (text_before + grid cells + text_after) "
                                  + "but there are \(rows) rows", param: field)
            }
            result = pixel ? RoPEGrid.pixelPositions(grid: grid)
                : RoPEGrid.positions(grid: grid, textBefore: before, textAfter: after).map { $0.map(Double.init) }
        case .array(let items):
            guard items.count == rows else {
                throw .badRequest("\(field) has \(items.count) entries but there are \(rows) rows", param: field)
            }
            result = []
            result.reserveCapacity(rows)
            for (i, item) in items.enumerated() {
                guard case .numbers(let coordinates) = item, coordinates.count == axisCount else {
                    throw .badRequest("\(field)[\(i)] must be a list of \(axisCount) coordinates (one per RoPE axis)",
                                      param: "\(field)[\(i)]")
                }
                result.append(coordinates)
            }
        case .numbers where rows > 0:
            throw .badRequest("\(field) must be [rows][\(axisCount)] with multi-axis RoPE (one coordinate per axis), got a flat list",
                              param: field)
        default:
            throw .badRequest("\(field) must be [rows][\(axisCount)] coordinates or a grid object, got \(value.kindDescription)",
                              param: field)
        }
        for (i, row) in result.enumerated() {
            for (axis, p) in row.enumerated() {
                guard p.isFinite, abs(p + Double(offset)) <= Double(maxPosition) else {
                    throw .badRequest("\(field)[\(i)][\(axis)] must be a number in -\(maxPosition)...\(maxPosition) (with offset), got \(p)",
                                      param: "\(field)[\(i)][\(axis)]")
                }
            }
        }
        return offset == 0 ? result : result.map { $0.map { $0 + Double(offset) } }
    }

    /// The heads' own position lists when `value` is `[heads][rows][axes]` (three levels of arrays), else nil.
    static func perHead(_ value: JSONValue?) -> [JSONValue]? {
        guard case .array(let heads)? = value, case .array(let rows)? = heads.first,
              let first = rows.first, case .numbers = first else { return nil }
        return heads
    }

    /// Whole numbers ≥ 0 that fit an Int32, or a 400 naming `field`.
    private static func wholeNumbers(_ values: [Double]?, _ field: String) throws(HTTPError) -> [Int]? {
        guard let values else { return nil }
        var result: [Int] = []
        result.reserveCapacity(values.count)
        for value in values {
            guard value.rounded() == value, value >= 0, value <= Double(Int32.max) else {
                throw .badRequest("\(field) must hold whole numbers >= 0, got \(value)", param: field)
            }
            result.append(Int(value))
        }
        return result
    }
}
