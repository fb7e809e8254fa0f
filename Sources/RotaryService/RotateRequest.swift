import RotaryHTTP
import RotaryJSON
import RotaryNumerics

/// A decoded, checked `POST /rotate`.
struct RotateRequest {
    /// Extras a caller may ask for in `return` (`attention_scaling` is always in the answer).
    enum Extra: String, CaseIterable {
        case invFreq = "inv_freq", cos, sin
    }

    var tensor: FloatTensor
    /// Absolute positions, one per row (offset included).
    var positions: [Int]
    /// With `rope.axes`: `[rows][axes]` positions (offset included); `positions` then holds each row's first coordinate.
    var axisPositions: [[Double]]?
    /// With `rope.axes` and positions `[heads][rows][axes]`: each head's own (`axisPositions` is then head 0's).
    var headPositions: [[[Double]]]?
    var axes: RoPEAxes?
    var configuration: RoPEConfiguration
    var inverse: Bool
    var role: RoPERole
    var extras: Set<Extra>

    static let topLevelKeys: Set<String> = ["vectors", "positions", "offset", "rope", "inverse", "role", "return"]

    /// From a JSON body. `tensor` is given when the vectors came as `.npy`.
    static func decode(_ body: JSONValue, tensor given: FloatTensor? = nil, ropePath: String = "rope",
                       limits: ServiceConfiguration) throws(HTTPError) -> RotateRequest {
        var reader = try ObjectReader(body, path: "")
        let tensor: FloatTensor
        if let given {
            tensor = given
        } else {
            guard let vectors = reader.value("vectors") else { throw .badRequest("vectors is required", param: "vectors") }
            tensor = try FloatTensor.decode(vectors, field: "vectors", maxElements: limits.maxElements)
        }
        let offset = try reader.int("offset", in: 0...limits.maxPosition) ?? 0
        let ropeValue = reader.value("rope")
        var axes: RoPEAxes?
        if case .object(let members) = ropeValue, let axesValue = members.first(where: { $0.0 == "axes" })?.1, axesValue != .null {
            axes = try AxesDecoding.axes(axesValue, path: ropePath.isEmpty ? "axes" : "\(ropePath).axes")
        }
        let positionsValue = reader.value("positions")
        var positions: [Int]
        var axisPositions: [[Double]]?
        var headPositions: [[[Double]]]?
        if let axes {
            func decode(_ value: JSONValue?, field: String) throws(HTTPError) -> [[Double]] {
                try AxesDecoding.positions(value, rows: tensor.rows, axisCount: axes.axisCount, offset: offset,
                                           maxPosition: limits.maxPosition, maxElements: limits.maxElements, field: field)
            }
            if let perHead = AxesDecoding.perHead(positionsValue) {
                guard perHead.count == tensor.heads else {
                    throw .badRequest("positions has \(perHead.count) heads but the vectors have \(tensor.heads)", param: "positions")
                }
                var decoded: [[[Double]]] = []
                for (h, head) in perHead.enumerated() { decoded.append(try decode(head, field: "positions[\(h)]")) }
                headPositions = decoded
            }
            let rows: [[Double]]
            if let first = headPositions?.first { rows = first } else { rows = try decode(positionsValue, field: "positions") }
            axisPositions = rows
            positions = rows.map { Int($0[0].rounded()) }
        } else if let positionsValue {
            let explicit: [Double]
            switch positionsValue {
            case .numbers(let numbers): explicit = numbers
            case .array(let items) where items.isEmpty: explicit = []
            default:
                throw .badRequest("positions must be an array of numbers (multi-axis positions need rope.axes), got "
                                  + positionsValue.kindDescription, param: "positions")
            }
            guard explicit.count == tensor.rows else {
                throw .badRequest("positions has \(explicit.count) entries but there are \(tensor.rows) rows", param: "positions")
            }
            positions = []
            positions.reserveCapacity(explicit.count)
            for (i, p) in explicit.enumerated() {
                guard p.rounded() == p, p >= 0, p + Double(offset) <= Double(limits.maxPosition) else {
                    throw .badRequest("positions[\(i)] must be a whole number in 0...\(limits.maxPosition) (with offset), got \(p)",
                                      param: "positions[\(i)]")
                }
                positions.append(Int(p) + offset)
            }
        } else {
            guard offset + tensor.rows - 1 <= limits.maxPosition else {
                throw .badRequest("offset + rows exceeds the largest position \(limits.maxPosition)", param: "offset")
            }
            positions = Array(offset..<(offset + tensor.rows))
        }
        let inverse = try reader.bool("inverse") ?? false
        let role = RoPERole(rawValue: try reader.choice("role", RoPERole.allCases.map(\.rawValue)) ?? "query")!
        var extras: Set<Extra> = []
        for (i, name) in (try reader.strings("return") ?? []).enumerated() {
            guard let extra = Extra(rawValue: name) else {
                throw .badRequest("return[\(i)] must be one of \(Extra.allCases.map(\.rawValue).joined(separator: ", ")); got '\(name)'",
                                  param: "return[\(i)]")
            }
            extras.insert(extra)
        }
        let configuration = try RoPEDecoding.decode(ropeValue, headDim: tensor.columns, path: ropePath, ignoring: ["axes"])
        try reader.finish()
        if let axes { try AxesDecoding.check(axes, configuration, heads: tensor.heads, ropePath: ropePath) }
        let largest = headPositions.map { $0.map(AxesDecoding.largestMagnitude).max() ?? 0 }
            ?? axisPositions.map(AxesDecoding.largestMagnitude) ?? positions.max() ?? 0
        try RoPEDecoding.checkFinite(configuration, maxPosition: largest, path: ropePath)
        return RotateRequest(tensor: tensor, positions: positions, axisPositions: axisPositions, headPositions: headPositions, axes: axes,
                             configuration: configuration, inverse: inverse, role: role, extras: extras)
    }

    /// Settings of an `.npy` request from its query string: top-level names as in JSON, every
    /// other name a `rope` parameter. Lists are comma-separated.
    static func settings(fromQuery query: [(name: String, value: String)]) throws(HTTPError) -> JSONValue {
        var top: [(String, JSONValue)] = []
        var rope: [(String, JSONValue)] = []
        // Multi-axis settings by name: rope.axes members, and the members of a grid given as positions.
        var axes: [(String, JSONValue)] = [], grid: [(String, JSONValue)] = []
        var seen: Set<String> = []
        let stringKeys: Set<String> = ["rope_type", "layout", "role", "frequencies"]
        let listKeys: Set<String> = ["positions", "short_factor", "long_factor", "return", "sections", "axes_dim", "grid"]
        let boolKeys: Set<String> = ["inverse", "truncate", "interleaved", "pixel"]
        let axesKeys: Set<String> = ["sections", "interleaved", "axes_dim", "frequencies", "max_freq"]
        let gridKeys: Set<String> = ["grid", "text_before", "text_after", "pixel"]
        for (name, raw) in query {
            // Names the body carries (or the object that holds the rest) cannot be settings.
            guard name != "vectors", name != "rope", name != "axes", name != "mixed" else {
                throw .badRequest("query parameter \(name) is not a setting of an .npy request (the body is the vectors; give rope "
                                  + "parameters by name; mixed frequencies need a JSON body)", param: name)
            }
            guard seen.insert(name).inserted else { throw .badRequest("query parameter \(name) is given twice", param: name) }
            let value: JSONValue
            if stringKeys.contains(name) {
                value = .string(raw)
            } else if name == "return" {
                value = .array(raw.split(separator: ",").map { .string(String($0)) })
            } else if listKeys.contains(name) {
                value = try number(list: raw, name: name)
            } else if raw == "true" || raw == "false" {
                value = .bool(raw == "true")
            } else if boolKeys.contains(name) {
                throw .badRequest("query parameter \(name) must be true or false, got '\(raw)'", param: name)
            } else {
                value = try number(raw, name: name)
            }
            if axesKeys.contains(name) {
                axes.append((name, value))
            } else if gridKeys.contains(name) {
                grid.append((name, value))
            } else if topLevelKeys.contains(name) {
                top.append((name, value))
            } else {
                rope.append((name, value))
            }
        }
        if !grid.isEmpty {
            if seen.contains("positions") { throw .badRequest("give positions or grid, not both", param: "grid") }
            top.append(("positions", .object(grid)))
        }
        if !axes.isEmpty {
            rope.append(("axes", .object(axes)))
            // Explicit multi-axis positions travel flat, row after row: one coordinate per axis.
            let axisCount = axes.first { $0.0 == "sections" || $0.0 == "axes_dim" }.flatMap { entry -> Int? in
                if case .numbers(let list) = entry.1 { return list.count }
                return nil
            }
            if let index = top.firstIndex(where: { $0.0 == "positions" }), case .numbers(let flat) = top[index].1,
               let axisCount, axisCount > 0 {
                guard flat.count % axisCount == 0 else {
                    throw .badRequest("query parameter positions has \(flat.count) numbers, not a multiple of the \(axisCount) axes",
                                      param: "positions")
                }
                top[index].1 = .array(stride(from: 0, to: flat.count, by: axisCount).map { .numbers(Array(flat[$0..<($0 + axisCount)])) })
            }
        }
        top.append(("rope", .object(rope)))
        return .object(top)
    }

    private static func number(_ text: String, name: String) throws(HTTPError) -> JSONValue {
        guard let parsed = try? JSONParser().parse(text), case .number = parsed else {
            throw .badRequest("query parameter \(name) must be a number, got '\(text)'", param: name)
        }
        return parsed
    }

    private static func number(list text: String, name: String) throws(HTTPError) -> JSONValue {
        guard let parsed = try? JSONParser().parse("[" + text + "]") else {
            throw .badRequest("query parameter \(name) must be a comma-separated list of numbers", param: name)
        }
        if case .numbers = parsed { return parsed }
        if case .array(let items) = parsed, items.isEmpty { return parsed }
        throw .badRequest("query parameter \(name) must be a comma-separated list of numbers", param: name)
    }
}
