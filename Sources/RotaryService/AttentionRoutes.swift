import RotaryHTTP
import RotaryJSON
import RotaryNumerics

/// `POST /attention` and `POST /attention/decay`, as JSON or, with `Accept: image/svg+xml`, as pictures.
enum AttentionRoutes {
    static let svgType = "image/svg+xml"

    static func routes(configuration: ServiceConfiguration, owner: ModelOwner) -> [Route] {
        [
            Route("POST", "/attention", consumes: ["application/json"], handler: .worker { request in
                let body = try parseJSON(request.body, limits: configuration)
                if body["text"] != nil { return try await TextModes.attention(body, request: request, owner: owner, limits: configuration) }
                return try attention(body, request: request, limits: configuration)
            }),
            Route("POST", "/attention/decay", consumes: ["application/json"], handler: .worker { request in
                try decay(request, limits: configuration)
            }),
        ]
    }

    static func attention(_ body: JSONValue, request: Request, limits: ServiceConfiguration) throws(HTTPError) -> Response {
        let decoded = try AttentionRequest.decode(body, limits: limits)
        let shape = decoded.shape
        let svg = wantsSVG(request)
        try ResponseSize.check(AttentionAnswer.maxBytes(decoded, svg: svg, limits: limits), limits,
                               what: svg ? "the SVG heatmap" : "the JSON \(decoded.outputs.map(\.rawValue).sorted().joined(separator: " and "))",
                               param: svg ? "queries" : "return")
        var queries = decoded.queries.values, keys = decoded.keys.values
        var encoding = decoded.encoding
        if let multi = decoded.multiAxis, case .rope(let config) = encoding {
            // Rotated here by their axis tables; the kernel then masks by sequence order (decoded.positionsQ/K).
            let length = max(AxesDecoding.largestMagnitude(multi.queries), AxesDecoding.largestMagnitude(multi.keys)) + 1
            config.apply(axisPositions: multi.queries, axes: multi.axes, to: &queries, heads: shape.queryHeads, role: .query,
                         sequenceLength: length)
            config.apply(axisPositions: multi.keys, axes: multi.axes, to: &keys, heads: shape.keyHeads, role: .key,
                         sequenceLength: length)
            encoding = .none
        }
        let result = Attention.compute(queries: queries, keys: keys, values: decoded.values?.values,
                                       shape: shape, positionsQ: decoded.positionsQ, positionsK: decoded.positionsK,
                                       encoding: encoding, causal: decoded.causal, scale: decoded.scale,
                                       keepScores: decoded.outputs.contains(.scores))
        for values in [result.scores ?? [], result.weights, result.output ?? []] {
            try RoPEDecoding.requireFinite(values, field: "queries", what: "the attention (queries · keys × scale, or the weighted values)")
        }
        if svg { return .text(AttentionAnswer.svg(decoded, result), contentType: svgType) }
        return .json(AttentionAnswer.json(decoded, result))
    }

    static func decay(_ request: Request, limits: ServiceConfiguration) throws(HTTPError) -> Response {
        var reader = try ObjectReader(try parseJSON(request.body, limits: limits), path: "")
        let headDim = try reader.int("head_dim", in: 2...512) ?? 128
        guard headDim % 2 == 0 else { throw .badRequest("head_dim must be even, got \(headDim)", param: "head_dim") }
        let theta = try reader.double("rope_theta") ?? 10_000
        guard theta.isFinite, theta > 1 else { throw .badRequest("rope_theta must be a finite number > 1", param: "rope_theta") }
        let givenDistance = try reader.int("max_distance", in: 1...65_536)
        let maxDistance = givenDistance ?? 1024
        let samples = try reader.int("samples", in: 1...4_096) ?? 256
        let seed = try reader.int("seed", in: 0...Int(Int32.max)) ?? 0
        let axesValue = reader.value("axes")
        try reader.finish()
        if let axesValue {
            return try decaySurface(axesValue, headDim: headDim, theta: theta, maxDistance: givenDistance ?? 32, samples: samples,
                                    seed: seed, request: request, limits: limits)
        }
        let terms = (maxDistance + 1) * headDim / 2 + samples * headDim / 2
        guard terms <= limits.maxDecayTerms else {
            throw .badRequest("(max_distance + 1 + samples) × head_dim/2 = \(terms) terms, over the limit of \(limits.maxDecayTerms) (max_decay_terms)",
                              param: "max_distance")
        }
        let curve = LongTermDecay.curve(headDim: headDim, theta: theta, maxDistance: maxDistance, samples: samples, seed: UInt64(seed))
        if wantsSVG(request) {
            return .text(DecayPlot.render(distance: curve.distance, upperBound: curve.upperBound, meanDot: curve.meanDot,
                                          headDim: headDim, theta: theta), contentType: svgType)
        }
        var writer = JSONWriter(reservingCapacity: maxDistance * 40)
        writer.raw("{")
        writer.key("distance"); writer.raw("[" + curve.distance.map(String.init).joined(separator: ",") + "]"); writer.comma()
        writer.key("upper_bound"); writer.doubles(curve.upperBound); writer.comma()
        writer.key("upper_bound_at_zero"); writer.double(curve.upperBoundAtZero); writer.comma()
        writer.key("mean_dot"); writer.doubles(curve.meanDot)
        writer.raw("}")
        return .json(writer.bytes)
    }

    /// Largest `max_distance` of a two-axis decay surface: (129)² offsets.
    static let maxSurfaceDistance = 128

    /// `/attention/decay` with `axes`: the bound and mean dot over (Δ₀, Δ₁), as JSON `[Δ₀][Δ₁]` or an SVG heatmap.
    static func decaySurface(_ axesValue: JSONValue, headDim: Int, theta: Double, maxDistance: Int, samples: Int, seed: Int,
                             request: Request, limits: ServiceConfiguration) throws(HTTPError) -> Response {
        let axes = try AxesDecoding.axes(axesValue, path: "axes")
        guard axes.axisCount == 2 else {
            throw .badRequest("axes must have two axes for a decay surface (Δrow, Δcolumn), got \(axes.axisCount)", param: "axes")
        }
        guard maxDistance <= maxSurfaceDistance else {
            throw .badRequest("max_distance must be at most \(maxSurfaceDistance) with axes", param: "max_distance")
        }
        let config: RoPEConfiguration
        do { config = try RoPEConfiguration(headDim: headDim, theta: theta) } catch {
            throw .badRequest("\(error.parameter): \(error.message)", param: error.parameter)
        }
        try AxesDecoding.check(axes, config, heads: axes.headCount, ropePath: "")
        let side = maxDistance + 1
        let terms = (side * side + samples) * headDim / 2
        guard terms <= limits.maxDecayTerms else {
            throw .badRequest("((max_distance + 1)² + samples) × head_dim/2 = \(terms) terms, over the limit of \(limits.maxDecayTerms) (max_decay_terms)",
                              param: "max_distance")
        }
        let surface = LongTermDecay.surface(config, axes: axes, maxDistance: maxDistance, samples: samples, seed: UInt64(seed))
        if wantsSVG(request) {
            let labels = surface.distance.map(String.init)
            return .text(AttentionHeatmap.render(weights: surface.upperBound.map { Float($0) }, heads: 1, rows: side, columns: side,
                                                 rowLabels: labels, columnLabels: labels,
                                                 title: "RoPE decay bound over (Δ axis 0, Δ axis 1), head_dim \(headDim)"),
                         contentType: svgType)
        }
        var writer = JSONWriter(reservingCapacity: side * side * 48)
        writer.raw("{")
        writer.key("distance"); writer.raw("[" + surface.distance.map(String.init).joined(separator: ",") + "]"); writer.comma()
        for (name, values) in [("upper_bound", surface.upperBound), ("mean_dot", surface.meanDot)] {
            writer.key(name)
            writer.raw("[")
            for row in 0..<side {
                if row > 0 { writer.comma() }
                writer.doubles(Array(values[(row * side)..<((row + 1) * side)]))
            }
            writer.raw("]")
            writer.comma()
        }
        writer.key("upper_bound_at_zero"); writer.double(surface.upperBoundAtZero)
        writer.raw("}")
        return .json(writer.bytes)
    }

    static func wantsSVG(_ request: Request) -> Bool {
        request.accepts(svgType)
    }
}
