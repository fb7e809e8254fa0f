// libFuzzer entry for the typed request decoding of /rotate (JSON and .npy) and /attention, compiled by
// scripts/fuzz.sh in one module with the sources it needs (the service's decoders, the HTTP error and
// response values, the numerics, the answers' writers). The first byte picks the decoder, the rest is the
// body. Every input must either decode, and then run through the numerics as the route runs it, or be
// refused with a 4xx; an answer must be finite and no larger than the bound max_response_bytes checks.

let fuzzLimits: ServiceConfiguration = {
    var limits = ServiceConfiguration()
    limits.maxElements = 4096        // small tensors keep each input fast; the checks are the same
    limits.maxScoreElements = 4096
    return limits
}()
let fuzzTables = RoPETableCache(maxEntries: 8, maxBytes: 4 << 20)

func expectClientError(_ error: HTTPError) {
    if !(400..<500).contains(error.status) { fatalError("decoding answered \(error.status): \(error.message)") }
}

/// The answer's bytes must not exceed the bound checked before the work.
func expectWithinBound(_ actual: Int, _ bound: Int, _ what: String) {
    if actual > bound { fatalError("\(what) took \(actual) bytes, over its bound of \(bound)") }
}

func fuzzRotate(_ body: JSONValue) throws(HTTPError) {
    var decoded = try RotateRequest.decode(body, limits: fuzzLimits)
    let table = fuzzTables.table(for: decoded.configuration, positions: decoded.positions, role: decoded.role,
                                 inverse: decoded.inverse)
    decoded.configuration.apply(table, to: &decoded.tensor.values, heads: decoded.tensor.heads)
    try RoPEDecoding.requireFinite(decoded.tensor.values, field: "vectors", what: "the rotated vectors")
    if !(table.cos + table.sin).allSatisfy(\.isFinite) { fatalError("an accepted configuration gave a non-finite table") }
    expectWithinBound(decoded.jsonAnswer(table: table).count, decoded.maxResponseBytes(npy: false), "the JSON answer")
    expectWithinBound(NPY.encode(decoded.tensor).count, decoded.maxResponseBytes(npy: true), "the .npy answer")
}

func fuzzAttention(_ body: JSONValue) throws(HTTPError) {
    var decoded = try AttentionRequest.decode(body, limits: fuzzLimits)
    let result = Attention.compute(queries: decoded.queries.values, keys: decoded.keys.values,
                                   values: decoded.values?.values, shape: decoded.shape,
                                   positionsQ: decoded.positionsQ, positionsK: decoded.positionsK,
                                   encoding: decoded.encoding, causal: decoded.causal, scale: decoded.scale,
                                   keepScores: true)
    if result.weights.count != decoded.shape.scoreCount { fatalError("weights of the wrong size") }
    for values in [result.scores ?? [], result.weights, result.output ?? []] {
        try RoPEDecoding.requireFinite(values, field: "queries", what: "the attention")
    }
    decoded.outputs = Set(AttentionRequest.Output.allCases.filter { $0 != .output || decoded.values != nil })
    expectWithinBound(AttentionAnswer.json(decoded, result).count, AttentionAnswer.maxBytes(decoded, svg: false, limits: fuzzLimits), "the JSON answer")
    expectWithinBound(AttentionAnswer.svg(decoded, result).utf8.count, AttentionAnswer.maxBytes(decoded, svg: true, limits: fuzzLimits), "the SVG")
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzRequestDecoding(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    guard size > 0 else { return 0 }
    let selector = data[0]
    let body = Array(UnsafeBufferPointer(start: data + 1, count: size - 1))
    do throws(HTTPError) {
        switch selector % 3 {
        case 0:
            _ = try NPY.decode(body, maxElements: fuzzLimits.maxElements)
        case 1:
            try fuzzRotate(try parseJSON(body, limits: fuzzLimits))
        default:
            try fuzzAttention(try parseJSON(body, limits: fuzzLimits))
        }
    } catch {
        expectClientError(error)
    }
    return 0
}
