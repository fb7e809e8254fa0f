import ArgumentParser
import Dispatch
import Glibc
import Logging
import RotaryHTTP
import RotaryModel
import RotaryNumerics
import RotaryService
import RotaryTemplates

/// The defaults the help text states: read from the configurations themselves, so they cannot drift.
private let serverDefaults = ServerConfiguration()
private let serviceDefaults = ServiceConfiguration()

/// `rotary serve`: every setting is a flag, else a `ROTARY_*` environment variable, else its default.
struct Serve: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Serve the HTTP API.")

    @Option(help: "Address to bind (IPv4/IPv6 literal or localhost). Env ROTARY_HOST. Default: \(serverDefaults.host).")
    var host: String?
    @Option(help: "TCP port; 0 picks a free one. Env ROTARY_PORT. Default: \(serverDefaults.port).")
    var port: Int?
    @Option(help: "HTTP worker threads (libmicrohttpd pool). Env ROTARY_THREADS. Default: \(serverDefaults.threads).")
    var threads: Int?
    @Option(help: "Largest request body in bytes (413 beyond). Env ROTARY_MAX_BODY_BYTES. Default: \(serverDefaults.maxBodyBytes).")
    var maxBodyBytes: Int?
    @Option(help: "Most open connections. Env ROTARY_CONNECTION_LIMIT. Default: \(serverDefaults.connectionLimit).")
    var connectionLimit: Int?
    @Option(help: "Most open connections per client IP (0 = none). Env ROTARY_PER_IP_CONNECTION_LIMIT. Default: \(serverDefaults.perIPConnectionLimit).")
    var perIpConnectionLimit: Int?
    @Option(help: "Seconds an idle connection stays open. Env ROTARY_IDLE_TIMEOUT. Default: \(serverDefaults.idleTimeoutSeconds).")
    var idleTimeout: Int?
    @Option(help: "Seconds a request's whole header block may take from its first byte (408 beyond; 0 = none). Env ROTARY_HEADER_TIMEOUT. Default: \(serverDefaults.headerTimeoutSeconds).")
    var headerTimeout: Double?
    @Option(help: "Seconds a request's whole body may take after its head (408 beyond; 0 = none). Env ROTARY_BODY_TIMEOUT. Default: \(serverDefaults.bodyTimeoutSeconds).")
    var bodyTimeout: Double?
    @Option(help: "Bytes of large responses (over 64 KiB) held unsent over all clients (503 beyond). Env ROTARY_MAX_BUFFERED_RESPONSE_BYTES. Default: \(serverDefaults.maxBufferedResponseBytes).")
    var maxBufferedResponseBytes: Int?
    @Option(help: "Bytes of header/buffer memory per connection (431 beyond). Env ROTARY_CONNECTION_MEMORY_LIMIT. Default: \(serverDefaults.connectionMemoryLimit).")
    var connectionMemoryLimit: Int?
    @Option(help: "Seconds a graceful stop waits for requests in flight. Env ROTARY_DRAIN_TIMEOUT. Default: \(serverDefaults.drainTimeoutSeconds).")
    var drainTimeout: Double?
    @Option(help: "Seconds between SIGTERM/SIGINT and the stop: /ready answers 503 at once, the server keeps serving meanwhile, so a balancer that polls /ready takes it out of its pool before it stops accepting (under Kubernetes the preStop pause does this: keep 0). Env ROTARY_DRAIN_DELAY. Default: \(serverDefaults.drainDelaySeconds).")
    var drainDelay: Double?
    @Option(help: "Most float elements per request (413 beyond). Env ROTARY_MAX_ELEMENTS. Default: \(serviceDefaults.maxElements).")
    var maxElements: Int?
    @Option(help: "Most attention scores (heads × seq_q × seq_k) per request (413 beyond). Env ROTARY_MAX_SCORE_ELEMENTS. Default: \(serviceDefaults.maxScoreElements).")
    var maxScoreElements: Int?
    @Option(help: "Most (distance × pair) terms per /attention/decay request. Env ROTARY_MAX_DECAY_TERMS. Default: \(serviceDefaults.maxDecayTerms).")
    var maxDecayTerms: Int?
    @Option(help: "Most bytes one (non-streamed) answer may take, bounded from the request before any work (413 beyond). Env ROTARY_MAX_RESPONSE_BYTES. Default: \(serviceDefaults.maxResponseBytes).")
    var maxResponseBytes: Int?
    @Option(help: "Largest token position accepted. Env ROTARY_MAX_POSITION. Default: \(serviceDefaults.maxPosition).")
    var maxPosition: Int?
    @Option(help: "Deepest JSON nesting accepted. Env ROTARY_MAX_JSON_DEPTH. Default: \(serviceDefaults.maxJSONDepth).")
    var maxJsonDepth: Int?
    @Option(help: "A Llama-family GGUF model to serve (/generate, /v1/completions, text modes), or `none` for the numerics routes alone (model routes answer 503). Env ROTARY_MODEL. Default: the embedded model shipped in the package.")
    var model: String?
    @Option(help: "Most positions one request may read past the model's context (a `rope` override on a model route, or /perplexity's `context`): it bounds one request's KV memory (413 beyond). Env ROTARY_MAX_EVAL_CONTEXT. Default: 4 × the model's context, capped where the float KV cache would pass 512 MiB.")
    var maxEvalContext: Int?
    @Option(help: "A chat template (Jinja) for /v1/chat/completions and /apply-template instead of the model's tokenizer.chat_template. Env ROTARY_CHAT_TEMPLATE. Default: the model's own.")
    var chatTemplate: String?
    @Option(help: "Model requests that may wait while others run (429 beyond). Env ROTARY_MODEL_QUEUE_SIZE. Default: \(serviceDefaults.modelQueueSize).")
    var modelQueueSize: Int?
    @Option(help: "Generation requests decoded together in one batch (continuous batching); more wait in the queue. Env ROTARY_MAX_BATCH_SEQUENCES. Default: \(serviceDefaults.maxBatchSequences).")
    var maxBatchSequences: Int?
    @Option(help: "Most bytes of KV cache the batch's sequences may hold together; a request that would pass it waits for others to finish (one alone always runs). Env ROTARY_KV_CACHE_BYTES. Default: \(serviceDefaults.kvCacheBytes) (1 GiB).")
    var kvCacheBytes: Int?
    @Option(help: "Prompt tokens one batch step reads at most (a long prompt is read over several steps, so that the others' next tokens do not wait for all of it), and the block size of the prefix cache. Env ROTARY_PROMPT_CHUNK_TOKENS. Default: \(serviceDefaults.promptChunkTokens).")
    var promptChunkTokens: Int?
    @Option(help: "Keep the KV blocks of prompts read, so that prompts beginning alike read that beginning once (within the --kv-cache-bytes the running requests leave). Env ROTARY_PREFIX_CACHE. Default: \(serviceDefaults.prefixCache).")
    var prefixCache: Bool?
    @Option(help: "Require 'Authorization: Bearer KEY' on every route but /health, /ready and the playground's files. Env ROTARY_API_KEY. Default: none (open).")
    var apiKey: String?
    @Option(help: "Allow this web origin (CORS). Env ROTARY_CORS_ORIGIN. Default: none (CORS off).")
    var corsOrigin: String?
    @Option(help: "Threads for the numerics (0 = the CPUs this process may use: its affinity mask, capped by the cgroup CPU quota). Env ROTARY_COMPUTE_THREADS. Default: 0.")
    var computeThreads: Int?
    @Option(help: "Matrix kernels: auto (the fastest the processor supports), avx512 (AVX-512 VNNI), avx2 or portable. Env ROTARY_KERNELS. Default: auto.")
    var kernels: String?
    @Option(help: "Keep activations in float in every matrix product (exact to the dequantized weights; slower decode) instead of rounding them to 8 bits in the quantized kernels, as llama.cpp does. Env ROTARY_EXACT_ACTIVATIONS. Default: false.")
    var exactActivations: Bool?
    @Option(help: "Log level: trace, debug, info (one line per request), notice, warning, error. Env ROTARY_LOG_LEVEL. Default: info.")
    var logLevel: String?

    func run() throws {
        var server = ServerConfiguration()
        var service = ServiceConfiguration()
        server.host = try setting(host, "ROTARY_HOST", server.host)
        server.port = try setting(port, "ROTARY_PORT", server.port)
        server.threads = try setting(threads, "ROTARY_THREADS", server.threads)
        server.maxBodyBytes = try setting(maxBodyBytes, "ROTARY_MAX_BODY_BYTES", server.maxBodyBytes)
        server.connectionLimit = try setting(connectionLimit, "ROTARY_CONNECTION_LIMIT", server.connectionLimit)
        server.perIPConnectionLimit = try setting(perIpConnectionLimit, "ROTARY_PER_IP_CONNECTION_LIMIT", server.perIPConnectionLimit)
        server.idleTimeoutSeconds = try setting(idleTimeout, "ROTARY_IDLE_TIMEOUT", server.idleTimeoutSeconds)
        server.headerTimeoutSeconds = try setting(headerTimeout, "ROTARY_HEADER_TIMEOUT", server.headerTimeoutSeconds)
        server.bodyTimeoutSeconds = try setting(bodyTimeout, "ROTARY_BODY_TIMEOUT", server.bodyTimeoutSeconds)
        server.maxBufferedResponseBytes = try setting(maxBufferedResponseBytes, "ROTARY_MAX_BUFFERED_RESPONSE_BYTES", server.maxBufferedResponseBytes)
        server.connectionMemoryLimit = try setting(connectionMemoryLimit, "ROTARY_CONNECTION_MEMORY_LIMIT", server.connectionMemoryLimit)
        server.drainTimeoutSeconds = try setting(drainTimeout, "ROTARY_DRAIN_TIMEOUT", server.drainTimeoutSeconds)
        server.drainDelaySeconds = try setting(drainDelay, "ROTARY_DRAIN_DELAY", server.drainDelaySeconds)
        service.maxElements = try setting(maxElements, "ROTARY_MAX_ELEMENTS", service.maxElements)
        service.maxScoreElements = try setting(maxScoreElements, "ROTARY_MAX_SCORE_ELEMENTS", service.maxScoreElements)
        service.maxDecayTerms = try setting(maxDecayTerms, "ROTARY_MAX_DECAY_TERMS", service.maxDecayTerms)
        service.maxResponseBytes = try setting(maxResponseBytes, "ROTARY_MAX_RESPONSE_BYTES", service.maxResponseBytes)
        service.maxPosition = try setting(maxPosition, "ROTARY_MAX_POSITION", service.maxPosition)
        service.maxJSONDepth = try setting(maxJsonDepth, "ROTARY_MAX_JSON_DEPTH", service.maxJSONDepth)
        let evalContext = try setting(maxEvalContext, "ROTARY_MAX_EVAL_CONTEXT", 0)
        guard evalContext >= 0 else { throw ValidationError("max-eval-context must be positive (or 0 for the default)") }
        service.maxEvalContext = evalContext == 0 ? nil : evalContext
        service.modelQueueSize = try setting(modelQueueSize, "ROTARY_MODEL_QUEUE_SIZE", service.modelQueueSize)
        service.maxBatchSequences = try setting(maxBatchSequences, "ROTARY_MAX_BATCH_SEQUENCES", service.maxBatchSequences)
        guard service.maxBatchSequences >= 1 else { throw ValidationError("max-batch-sequences must be at least 1") }
        service.kvCacheBytes = try setting(kvCacheBytes, "ROTARY_KV_CACHE_BYTES", service.kvCacheBytes)
        guard service.kvCacheBytes >= 0 else { throw ValidationError("kv-cache-bytes must not be negative") }
        service.promptChunkTokens = try setting(promptChunkTokens, "ROTARY_PROMPT_CHUNK_TOKENS", service.promptChunkTokens)
        guard service.promptChunkTokens >= 1 else { throw ValidationError("prompt-chunk-tokens must be at least 1") }
        service.prefixCache = try setting(prefixCache, "ROTARY_PREFIX_CACHE", service.prefixCache)
        let modelPath = try setting(model, "ROTARY_MODEL", "")
        let templatePath = try setting(chatTemplate, "ROTARY_CHAT_TEMPLATE", "")
        if !templatePath.isEmpty {
            guard let source = try? String(contentsOfFile: templatePath, encoding: .utf8) else {
                throw ValidationError("cannot read the chat template \(templatePath)")
            }
            do { _ = try ChatTemplate(source) } catch { throw ValidationError("the chat template \(templatePath) cannot be read: \(error.message)") }
            service.chatTemplate = source
        }
        let levelName = try setting(logLevel, "ROTARY_LOG_LEVEL", "info")
        guard let level = Logger.Level(rawValue: levelName) else {
            throw ValidationError("log level must be one of \(Logger.Level.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        let threads = try configureNumerics(threads: computeThreads, kernels: kernels)
        let exact = try setting(exactActivations, "ROTARY_EXACT_ACTIVATIONS", false)
        let sink = LogSink.shared
        LoggingSystem.bootstrap { label in BufferedLogHandler(label: label, level: level, sink: sink) }
        defer { sink.flush() }
        let logger = Logger(label: "rotary")
        logger.info("numerics: \(threads); kernels: \(exact ? "activations kept in float (--exact-activations); " : "")\(TensorKernels.description)")
        LargeBlockMemory.keepLargeBlocks()
        let key = try setting(apiKey, "ROTARY_API_KEY", "")
        let origin = try setting(corsOrigin, "ROTARY_CORS_ORIGIN", "")
        let policy = AccessPolicy(apiKey: key.isEmpty ? nil : key, corsOrigin: origin.isEmpty ? nil : origin)
        let metrics = RequestMetrics()
        // Listening while the model loads: /health answers (alive), /ready answers 503, other requests wait
        // for the model. A stop asked for meanwhile ends the process at once (nothing was routed here yet).
        let readiness = Readiness(.loading)
        let termination = TerminationSignal(readiness: readiness) {
            logger.notice("signal received while the model loads: exiting")
            sink.flush()
            _exit(0)
        }
        let modelRouter = PendingRouter()
        let loadingServer = Server(configuration: server, router: Service.loadingRouter(
            configuration: service, policy: policy, metrics: metrics, readiness: readiness, modelRouter: modelRouter, logger: logger),
            metrics: metrics, readiness: readiness, logger: logger)
        do {
            try loadingServer.start()
        } catch {
            throw ValidationError(error.description)
        }
        let owner = try loadModel(path: modelPath, exactActivations: exact, queueLimit: service.modelQueueSize,
                                  batchLimits: service.batchLimits, logger: logger)
        let router = Service.router(configuration: service, owner: owner, policy: policy, metrics: metrics, readiness: readiness, logger: logger)
        let httpServer = Server(configuration: server, router: router, metrics: metrics, readiness: readiness, logger: logger)
        modelRouter.set(router)
        readiness.markReady()
        do {
            try loadingServer.handOver(to: httpServer, note: "; ready")
        } catch {
            throw ValidationError(error.description)
        }
        termination.wait()
        let pause = server.drainDelaySeconds > 0 ? "serving \(server.drainDelaySeconds) s more, then " : ""
        logger.info("signal received: /ready answers 503; \(pause)draining requests in flight (up to \(server.drainTimeoutSeconds) s)")
        httpServer.drain()
    }
}

/// --model (`none`: no model), else the model shipped in the package resources, else none (model routes answer 503).
private func loadModel(path modelPath: String, exactActivations exact: Bool, queueLimit: Int,
                       batchLimits: SequenceBatcher.Limits, logger: Logger) throws -> ModelOwner? {
    if modelPath == "none" {
        logger.notice("--model none: model routes answer 503 model_not_loaded")
        return nil
    }
    do {
        if !modelPath.isEmpty, case let file = try GGUFFile(path: modelPath), VocabularyFile.isVocabularyOnly(file) {
            let vocabulary = try VocabularyFile(file: file)
            let name = file.value("general.name")?.string ?? String(modelPath.split(separator: "/").last ?? "vocabulary")
            let tokenizer = vocabulary.tokenizer
            logger.warning("\(modelPath) is vocabulary-only (no weights): tokenizer \(tokenizer.model) with \(tokenizer.vocabularySize) tokens; model routes answer 503 model_not_loaded")
            return ModelOwner(vocabularyOnly: vocabulary, name: name, queueLimit: queueLimit)
        } else if let loaded = modelPath.isEmpty ? try EmbeddedModel.load() : try LlamaModel(path: modelPath, exactActivations: exact) {
            let fallback = modelPath.isEmpty ? EmbeddedModel.resourceName : String(modelPath.split(separator: "/").last ?? "model")
            let name = loaded.file.value("general.name")?.string ?? fallback
            logger.info("model \(name): \(loaded.summary)")
            return ModelOwner(model: loaded, name: name, queueLimit: queueLimit, batchLimits: batchLimits)
        }
        logger.warning("no model loaded: model routes answer 503 model_not_loaded")
        return nil
    } catch {
        throw ValidationError("cannot load the model \(modelPath.isEmpty ? "shipped in the package" : modelPath): \(error)")
    }
}

/// SIGINT and SIGTERM, caught from the moment this is made. One that arrives while `readiness` is still
/// `loading` runs `whileLoading` instead of waiting for the load.
final class TerminationSignal {
    private let done = DispatchSemaphore(value: 0)
    private var sources: [DispatchSourceSignal] = []

    init(readiness: Readiness, whileLoading: @escaping @Sendable () -> Void) {
        for signalNumber in [SIGINT, SIGTERM] {
            signal(signalNumber, SIG_IGN)   // the dispatch source takes delivery instead of the default action
            let source = DispatchSource.makeSignalSource(signal: signalNumber, queue: .global())
            source.setEventHandler { [done] in
                if readiness.state == .loading { whileLoading() }
                done.signal()
            }
            source.resume()
            sources.append(source)
        }
    }

    /// Blocks until one of the signals arrives (or has arrived since `init`).
    func wait() {
        done.wait()
        sources.forEach { $0.cancel() }
    }
}

/// Chooses the numerics' threads from `--compute-threads`, else `ROTARY_COMPUTE_THREADS`, else the CPUs this
/// process may use, and the kernel set from `--kernels`, else `ROTARY_KERNELS`, else the fastest the processor
/// supports; before any parallel work starts.
func configureNumerics(threads flag: Int?, kernels: String? = nil) throws -> ComputeThreads {
    let requested = try setting(flag, "ROTARY_COMPUTE_THREADS", 0)
    guard requested >= 0 else { throw ValidationError("--compute-threads must be 0 (automatic) or a positive count") }
    let threads = ComputeThreads.detect(setting: requested == 0 ? nil : requested)
    Parallel.configure(threads)
    let name = try setting(kernels, "ROTARY_KERNELS", "auto")
    if name != "auto" {
        guard let set = KernelSet(rawValue: name) else {
            throw ValidationError("kernels must be auto, \(KernelSet.allCases.map(\.rawValue).joined(separator: ", ")); not '\(name)'")
        }
        guard TensorKernels.configure(set) else {
            let missing = set.requiredFlags.filter { !ProcessorFeatures.current.flags.contains($0) }
            throw ValidationError(set.isBuilt ? "kernels \(name): the processor lacks \(missing.joined(separator: ", "))"
                                              : "kernels \(name): not in this build (ROTARY_PORTABLE)")
        }
    }
    return threads
}

/// flag ?? environment ?? default; an unparsable environment value is an error, not a silent default.
func setting<T: LosslessStringConvertible>(_ flag: T?, _ variable: String, _ fallback: T) throws -> T {
    if let flag { return flag }
    guard let raw = getenv(variable).map({ String(cString: $0) }), !raw.isEmpty else { return fallback }
    guard let value = T(raw) else { throw ValidationError("environment variable \(variable)='\(raw)' is not a valid value") }
    return value
}
