import RotaryHTTP
import RotaryJSON
import RotaryNumerics

/// `POST /rotate`: rotate vectors at positions with any RoPE variant; JSON or `.npy` in and out.
enum RotateRoutes {
    static func routes(configuration: ServiceConfiguration, owner: ModelOwner) -> [Route] {
        let cache = RoPETableCache(maxEntries: configuration.ropeTableCacheEntries)
        return [
            Route("POST", "/rotate", consumes: ["application/json", NPY.mediaType], handler: .worker { request in
                try rotate(request, limits: configuration, cache: cache, owner: owner)
            }),
        ]
    }

    static func rotate(_ request: Request, limits: ServiceConfiguration, cache: RoPETableCache,
                       owner: ModelOwner? = nil) throws(HTTPError) -> Response {
        var decoded: RotateRequest
        if request.mediaType == NPY.mediaType {
            let tensor = try NPY.decode(request.body, maxElements: limits.maxElements)
            decoded = try RotateRequest.decode(try RotateRequest.settings(fromQuery: request.query), tensor: tensor,
                                               ropePath: "", limits: limits)
        } else {
            // Query settings are for `.npy` bodies; in JSON everything travels in the body.
            if let stray = request.query.first {
                throw HTTPError.badRequest("query parameter \(stray.name) applies to .npy bodies only; put settings in the JSON body",
                                           param: stray.name)
            }
            let body = try parseJSON(request.body, limits: limits)
            if body["text"] != nil {
                guard let owner else { throw HTTPError.badRequest("text mode needs a model", param: "text") }
                return try TextModes.rotate(body, model: try owner.requireModel(), pieceBytes: owner.maxPieceBytes, limits: limits)
            }
            decoded = try RotateRequest.decode(body, limits: limits)
        }
        let answersNPY = request.accepts(NPY.mediaType)
        try ResponseSize.check(decoded.maxResponseBytes(npy: answersNPY), limits,
                               what: answersNPY ? "the .npy answer" : "the JSON answer", param: decoded.extras.isEmpty ? "vectors" : "return")
        let config = decoded.configuration
        let table: RoPETable
        if let axes = decoded.axes, let axisPositions = decoded.axisPositions {
            if let headPositions = decoded.headPositions {
                let length = AxesDecoding.largestMagnitude(Array(headPositions.joined())) + 1
                config.apply(headPositions: headPositions, axes: axes, to: &decoded.tensor.values, role: decoded.role,
                             inverse: decoded.inverse, sequenceLength: length)
                // The answer's extras (inv_freq, cos, sin) are the first head's.
                table = config.table(axisPositions: axisPositions, axes: axes, role: decoded.role, inverse: decoded.inverse,
                                     sequenceLength: length)
            } else if axes.headCount > 1 {
                config.apply(axisPositions: axisPositions, axes: axes, to: &decoded.tensor.values, heads: decoded.tensor.heads,
                             role: decoded.role, inverse: decoded.inverse)
                table = config.table(axisPositions: axisPositions, axes: axes, role: decoded.role, inverse: decoded.inverse)
            } else {
                // One table for every head: built once, for the rotation and the answer.
                table = config.table(axisPositions: axisPositions, axes: axes, role: decoded.role, inverse: decoded.inverse)
                config.apply(table, to: &decoded.tensor.values, heads: decoded.tensor.heads)
            }
        } else {
            table = cache.table(for: config, positions: decoded.positions, role: decoded.role, inverse: decoded.inverse)
            config.apply(table, to: &decoded.tensor.values, heads: decoded.tensor.heads)
        }
        try RoPEDecoding.requireFinite(decoded.tensor.values, field: request.mediaType == NPY.mediaType ? "body" : "vectors",
                                       what: "the rotated vectors (vectors × attention scaling)")
        if answersNPY {
            return Response(status: 200, contentType: NPY.mediaType,
                            headers: [("X-Attention-Scaling", String(table.frequencies.attentionScaling))],
                            body: NPY.encode(decoded.tensor))
        }
        return .json(decoded.jsonAnswer(table: table))
    }
}
