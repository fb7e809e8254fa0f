#if canImport(Glibc)
import Glibc
#endif
import RotaryHTTP
import RotaryJSON
import RotaryModel
import RotaryNumerics
import Synchronization

/// `POST /perplexity`: a text of any length scored in windows, under the model's RoPE or several
/// overrides at once — perplexity, bits per byte and character, and NLL by position in the window (the
/// context-extension curve). JSON, `.npy` of every token's log-probability, an SVG plot, or a stream
/// of progress events ending in the result.
enum PerplexityRoutes {
    static func routes(owner: ModelOwner, configuration: ServiceConfiguration) -> [Route] {
        [
            Route("POST", "/perplexity", consumes: ["application/json"], handler: .worker { request in
                try await perplexity(request, owner: owner, limits: configuration)
            }),
        ]
    }

    static func perplexity(_ request: Request, owner: ModelOwner, limits: ServiceConfiguration) async throws(HTTPError) -> Response {
        let model = try owner.requireModel()
        let decoded = try PerplexityRequest.decode(try parseJSON(request.body, limits: limits), model: model, limits: limits)
        let scored = decoded.windows.scoredTokens, settings = decoded.settings.count
        let svg = request.accepts(AttentionRoutes.svgType), npy = !svg && request.accepts(NPY.mediaType)
        if decoded.stream {
            return try GenerateRoutes.eventStream(owner: owner) { stream throws(HTTPError) in
                let started = now()
                let results = try await score(decoded, owner: owner, isConnected: { !stream.isCancelled && request.isConnected() }) { done, total in
                    let seconds = now() - started, rate = Double(done) / max(seconds, 1e-9)
                    var w = JSONWriter()
                    w.raw("{\"type\":\"progress\","); w.key("windows_done"); w.int(done); w.comma()
                    w.key("windows_total"); w.int(total); w.comma()
                    w.key("tokens_per_second"); w.double(Double(tokensIn(decoded, windows: done)) / max(seconds, 1e-9)); w.comma()
                    w.key("eta_seconds"); w.double(Double(total - done) / max(rate, 1e-9)); w.raw("}")
                    stream.write(GenerateRoutes.serverSentEvent(w.bytes))
                }
                var w = JSONWriter()
                w.raw("{\"type\":\"result\",")
                writeBody(decoded, results, seconds: now() - started, model: model, owner: owner, &w)
                w.raw("}")
                stream.write(GenerateRoutes.serverSentEvent(w.bytes) + GenerateRoutes.endOfEvents)
            }
        }
        if npy {
            try ResponseSize.check(ResponseSize.npy(count: settings * scored), limits, what: "the .npy log-probabilities", param: "text")
        } else if !svg {
            let perToken = decoded.tokenLogprobs ? scored * ResponseSize.jsonFloat : 0
            try ResponseSize.check(ResponseSize.envelope + settings * (4096 + decoded.buckets * 96 + perToken), limits,
                                   what: "the JSON answer (logprobs: every token's log-probability)", param: "logprobs")
        }
        let started = now()
        let results = try await score(decoded, owner: owner, isConnected: request.isConnected) { _, _ in }
        let seconds = now() - started
        if npy {
            // `[settings][tokens_scored]` float32 log-probabilities, in sequence order.
            let values = results.flatMap { $0.scores.map { Float($0.logprob) } }
            return Response(status: 200, contentType: NPY.mediaType, body: NPY.encode(FloatTensor(values: values, shape: [settings, scored])))
        }
        if svg { return .text(plot(decoded, results, model: model), contentType: AttentionRoutes.svgType) }
        var w = JSONWriter(reservingCapacity: 4096 + (decoded.tokenLogprobs ? settings * scored * 12 : 0))
        w.raw("{")
        writeBody(decoded, results, seconds: seconds, model: model, owner: owner, &w)
        w.raw("}")
        return .json(w.bytes)
    }

    /// Runs every setting over the same windows in one model job; `progress(done, total)` after each window.
    static func score(_ decoded: PerplexityRequest, owner: ModelOwner, isConnected: @escaping @Sendable () -> Bool,
                      progress: @escaping @Sendable (Int, Int) -> Void) async throws(HTTPError) -> [PerplexityResult] {
        let total = decoded.windows.windows.count * decoded.settings.count
        let (tokens, windows, settings) = (decoded.tokens, decoded.windows, decoded.settings)
        // What was scored is counted even when the client goes mid-way: `/metrics` tells the work the model did.
        let outcome: (results: [PerplexityResult]?, scored: Int) = try await owner.run(isConnected: isConnected) { model in
            var results: [PerplexityResult] = []
            var scored = 0
            for (s, setting) in settings.enumerated() {
                var windowsDone = 0
                let scores = model.scoreWindows(tokens, windows: windows, configuration: setting) { done in
                    windowsDone = done
                    progress(s * windows.windows.count + done, total)
                    return isConnected()
                }
                guard let scores else { return (nil, scored + windows.windows.prefix(windowsDone).reduce(0) { $0 + $1.scored }) }
                scored += scores.count
                results.append(PerplexityResult(scores: scores))
            }
            return (results, scored)
        }
        owner.countScored(outcome.scored)
        guard let results = outcome.results else {
            throw HTTPError(status: 499, type: "client_closed_request", message: "the client disconnected; scoring stopped")
        }
        return results
    }

    /// Tokens the first `windows` windows read (over the settings in order), for the rate.
    static func tokensIn(_ decoded: PerplexityRequest, windows done: Int) -> Int {
        let per = decoded.windows.windows
        let full = done / per.count, partial = done % per.count
        return full * per.reduce(0) { $0 + $1.length - 1 } + per.prefix(partial).reduce(0) { $0 + $1.length - 1 }
    }

    static func writeBody(_ decoded: PerplexityRequest, _ results: [PerplexityResult], seconds: Double, model: LlamaModel,
                          owner: ModelOwner, _ w: inout JSONWriter) {
        let characters = decoded.text.unicodeScalars.count, bytes = decoded.text.utf8.count
        w.key("object"); w.string("perplexity"); w.comma()
        w.key("model"); w.string(owner.name); w.comma()
        w.key("tokens"); w.int(decoded.tokens.count); w.comma()
        w.key("characters"); w.int(characters); w.comma()
        w.key("bytes"); w.int(bytes); w.comma()
        w.key("context"); w.int(decoded.context); w.comma()
        w.key("stride"); w.int(decoded.stride); w.comma()
        w.key("windows"); w.int(decoded.windows.windows.count); w.comma()
        w.key("n_ctx"); w.int(model.configuration.contextLength); w.comma()
        let edges = decoded.bucketEdges
        w.key("results"); w.raw("[")
        for (i, (setting, result)) in zip(decoded.settings, results).enumerated() {
            if i > 0 { w.comma() }
            let total = result.totalNLL, ln2 = log(2.0)
            w.raw("{"); w.key("rope"); w.value(.object(ModelRoPE.object((setting ?? model.configuration).rope))); w.comma()
            w.key("tokens_scored"); w.int(result.scores.count); w.comma()
            w.key("mean_nll"); w.double(result.meanNLL); w.comma()
            w.key("perplexity"); GenerateRoutes.writeLogprob(exp(result.meanNLL), &w); w.comma()
            w.key("bits_per_byte"); w.double(total / ln2 / Double(max(bytes, 1))); w.comma()
            w.key("bits_per_character"); w.double(total / ln2 / Double(max(characters, 1))); w.comma()
            w.key("nll_by_position"); w.raw("[")
            for (b, bucket) in result.byPosition(edges: edges).enumerated() {
                if b > 0 { w.comma() }
                w.raw("{\"start\":\(edges[b]),\"end\":\(edges[b + 1]),\"count\":\(bucket.count),\"mean_nll\":")
                if let mean = bucket.meanNLL { w.double(mean) } else { w.null() }
                w.raw("}")
            }
            w.raw("]")
            if decoded.tokenLogprobs {
                w.comma(); w.key("token_logprobs"); w.doubles(result.scores.map(\.logprob))
            }
            w.raw("}")
        }
        w.raw("],")
        let read = tokensIn(decoded, windows: decoded.windows.windows.count * decoded.settings.count)
        w.key("timings"); w.raw("{"); w.key("seconds"); w.double(seconds); w.comma()
        w.key("tokens_per_second"); w.double(Double(read) / max(seconds, 1e-9)); w.raw("}")
    }

    /// NLL against position in the window, one line per setting, the model's training context marked.
    static func plot(_ decoded: PerplexityRequest, _ results: [PerplexityResult], model: LlamaModel) -> String {
        let edges = decoded.bucketEdges
        let series = zip(decoded.settings, results).map { setting, result in
            let rope = (setting ?? model.configuration).rope
            let points = result.byPosition(edges: edges).enumerated().compactMap { b, bucket -> (x: Double, y: Double)? in
                bucket.meanNLL.map { (Double(edges[b] + edges[b + 1] - 1) / 2, $0) }
            }
            return LinePlot.Series(name: label(rope), points: points)
        }
        let n = model.configuration.contextLength
        return LinePlot.render(title: "NLL by position, windows of \(decoded.context) (stride \(decoded.stride))",
                               xLabel: "position in the window", yLabel: "mean NLL (nats/token)", series: series,
                               markers: n < decoded.context ? [(Double(n), "training context \(n)")] : [])
    }

    /// A short legend name: `yarn ×4`, `default θ=10000`.
    static func label(_ rope: RoPEConfiguration) -> String {
        switch rope.scaling {
        case .linear(let f), .dynamic(let f): return "\(rope.scaling.name) ×\(SVG.number(f))"
        case .yarn(let p): return "yarn" + (p.factor.map { " ×\(SVG.number($0))" } ?? "")
        case .llama3(let p): return "llama3 ×\(SVG.number(p.factor))"
        default: return "\(rope.scaling.name) θ=\(SVG.number(rope.theta))"
        }
    }

    static func now() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
    }
}
