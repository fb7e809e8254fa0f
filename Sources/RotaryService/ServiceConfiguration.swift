/// Limits and settings of the service layer (the HTTP server's own live in `ServerConfiguration`).
/// Each is a CLI flag and a `ROTARY_*` environment variable.
public struct ServiceConfiguration: Sendable, Equatable {
    /// Most float elements one request may send or ask for (vectors in `/rotate`): beyond, 413.
    public var maxElements: Int = 16 << 20
    /// Most attention scores (heads × seq_q × seq_k) one `/attention` call may compute: beyond, 413.
    public var maxScoreElements: Int = 16 << 20
    /// Most (distance × pair) terms one `/attention/decay` call may sum.
    public var maxDecayTerms: Int = 32 << 20
    /// Model requests that may wait while others run; beyond, 429 with Retry-After.
    public var modelQueueSize: Int = 16
    /// Generation requests decoded together (continuous batching); more wait in the queue.
    public var maxBatchSequences: Int = 48
    /// Most bytes of KV cache the batch's sequences hold together; a request that would pass it waits.
    public var kvCacheBytes: Int = 1 << 30
    /// Prompt tokens one batch step reads at most (a long prompt takes several steps, beside the others' decoding),
    /// and the size of the prefix cache's blocks.
    public var promptChunkTokens: Int = 8
    /// Keep read prompt blocks for prompts that begin alike, in the KV bytes the running sequences leave.
    public var prefixCache: Bool = true
    /// Largest token position accepted (positions are exact in float32 up to 2^24).
    public var maxPosition: Int = (1 << 24) - 1
    /// Deepest JSON nesting accepted (a 3-D tensor needs 4 levels inside the body object).
    public var maxJSONDepth: Int = 32
    /// Most bytes one answer may take (JSON, .npy or SVG, bounded from the request before any work):
    /// beyond, 413 `response_too_large`. Streamed answers are not held whole and are not counted.
    public var maxResponseBytes: Int = 64 << 20
    /// Most positions one request may read with a `rope` override or in `/perplexity` (past the model's
    /// context is the point; this bounds the KV memory): beyond, 413. nil: see `evalContextLimit`.
    public var maxEvalContext: Int?
    /// Entries kept in the cos/sin table cache (one per RoPE configuration and position set).
    public var ropeTableCacheEntries: Int = 64
    /// A chat template (Jinja source) used instead of the model's `tokenizer.chat_template` (`--chat-template FILE`).
    public var chatTemplate: String?

    public init() {}
}

/// The version reported by `/health` and `rotary --version`.
public let rotaryVersion = "0.1.0"
