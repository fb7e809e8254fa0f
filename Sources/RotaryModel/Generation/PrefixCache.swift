import RotaryLocking
import RotaryNumerics

/// Keys and values of prompt blocks already read, so that requests sharing a beginning read it once: a
/// multiple-choice context sent once per choice, a chat history re-sent every turn.
///
/// A block is `blockTokens` prompt positions starting at a multiple of `blockTokens`, keyed by its tokens, the
/// block before it and the RoPE it was rotated with. Prompts are always read in chunks of exactly these blocks
/// (`GenerationSequence.readPrompt`), so a block taken from here holds the very numbers reading it would give.
/// Bounded by whatever part of the KV budget the running sequences leave (`SequenceBatcher`); the least recently
/// used block goes first, and a block's descendants before it.
public final class PrefixCache: Sendable {
    /// What a block's positions are rotated with: the request's RoPE, and the length `dynamic`/`longrope` chose by.
    public struct Variant: Hashable, Sendable {
        var rope: RoPEConfiguration
        var localRope: RoPEConfiguration?
        var frequencyFactors: [Float]?
        var ropeSequenceLength: Int?
    }

    /// A block's place: the id of the block before it (0 for the first), its tokens and its rotation.
    public struct Key: Hashable, Sendable {
        var parent: Int
        var tokens: [Int]
        var variant: Variant
    }

    /// What reading a block leaves behind.
    public struct Block: Sendable {
        /// `[layers][blockTokens][kvDim]`
        var keys: [Float], values: [Float]
        /// Read with every position's logits: the scores of its tokens after the first (each given all before it)
        /// with `storedAlternatives` alternatives, and the logits after its last token `[vocab]`.
        var scores: [ScoredToken]?, lastLogits: [Float]?

        var bytes: Int {
            (keys.count + values.count + (lastLogits?.count ?? 0)) * MemoryLayout<Float>.stride
                + (scores?.reduce(0) { $0 + 24 + $1.alternatives.count * 16 } ?? 0)
        }
    }

    /// Alternatives kept per stored score: a request asks for at most this many (`top_logprobs` ≤ 20), and fewer
    /// are the first of these.
    public static let storedAlternatives = 20

    /// Tokens found here and tokens read afresh (prompts read while the cache is on), and blocks evicted.
    public struct Counts: Sendable, Equatable {
        public var hitTokens = 0, missTokens = 0, evictions = 0, blocks = 0, bytes = 0
        public init() {}
    }

    private struct Entry {
        var id: Int
        var block: Block
        var lastUse: Int
        var depth: Int
        var parent: Int
    }

    private struct State {
        var entries: [Key: Entry] = [:]
        var keyOfID: [Int: Key] = [:]
        var nextID = 1
        var clock = 0
        var counts = Counts()
    }

    public let blockTokens: Int
    private let state = PthreadLocked(State())

    public init(blockTokens: Int) {
        precondition(blockTokens >= 1, "a block holds a position at least")
        self.blockTokens = blockTokens
    }

    public var counts: Counts { state.withLock { $0.counts } }

    /// The block at `key` and its id, marked used (with every block before it); nil when absent, or when it was
    /// read without scores and `needsScores`.
    func lookup(_ key: Key, needsScores: Bool) -> (id: Int, block: Block)? {
        state.withLock { s in
            guard let entry = s.entries[key], !needsScores || entry.block.scores != nil else { return nil }
            s.clock += 1
            Self.touch(entry.id, &s)
            s.counts.hitTokens += blockTokens
            return (entry.id, entry.block)
        }
    }

    /// Counts prompt tokens read afresh.
    func recordMisses(_ tokens: Int) { state.withLock { $0.counts.missTokens += tokens } }

    /// Keeps `block` at `key`, evicting least recently used blocks (not the ones before it) while the cache would
    /// pass `roomBytes`.
    /// - Returns: the block's id, or nil when it cannot fit even alone (later blocks of that prompt then go unkept).
    func store(_ key: Key, _ block: Block, roomBytes: Int) -> Int? {
        state.withLock { s in
            s.clock += 1
            if let existing = s.entries[key], existing.block.scores != nil || block.scores == nil {
                Self.touch(existing.id, &s)
                return existing.id
            }
            let bytes = block.bytes
            if let replaced = s.entries[key] { Self.remove(key, replaced, &s, evicted: false) }
            // A block without the blocks before it could never be found: those stay.
            var ancestors: Set<Int> = []
            var current = key.parent
            while let parentKey = s.keyOfID[current], let parent = s.entries[parentKey] { ancestors.insert(current); current = parent.parent }
            while s.counts.bytes + bytes > roomBytes, Self.evictOne(&s, sparing: ancestors) {}
            guard s.counts.bytes + bytes <= roomBytes else { return nil }
            let parentDepth = s.keyOfID[key.parent].flatMap { s.entries[$0]?.depth } ?? 0
            let id = s.nextID
            s.nextID += 1
            s.entries[key] = Entry(id: id, block: block, lastUse: s.clock, depth: parentDepth + 1, parent: key.parent)
            s.keyOfID[id] = key
            s.counts.blocks += 1
            s.counts.bytes += bytes
            Self.touch(id, &s)
            return id
        }
    }

    /// Evicts least recently used blocks until the cache holds at most `bytes`.
    func shrink(to bytes: Int) {
        state.withLock { s in
            while s.counts.bytes > max(bytes, 0), Self.evictOne(&s) {}
        }
    }

    /// Marks the block and every block before it used now, so that a prefix never goes before its continuation.
    private static func touch(_ id: Int, _ s: inout State) {
        var current = id
        while let key = s.keyOfID[current], s.entries[key] != nil {
            s.entries[key]!.lastUse = s.clock
            current = s.entries[key]!.parent
        }
    }

    /// The least recently used block, the deepest of equals: false when the cache is empty.
    private static func evictOne(_ s: inout State, sparing spared: Set<Int> = []) -> Bool {
        guard let victim = s.entries.lazy.filter({ !spared.contains($0.value.id) }).min(by: { a, b in
            (a.value.lastUse, -a.value.depth, a.value.id) < (b.value.lastUse, -b.value.depth, b.value.id)
        }) else { return false }
        remove(victim.key, victim.value, &s, evicted: true)
        return true
    }

    private static func remove(_ key: Key, _ entry: Entry, _ s: inout State, evicted: Bool) {
        s.entries[key] = nil
        s.keyOfID[entry.id] = nil
        s.counts.blocks -= 1
        s.counts.bytes -= entry.block.bytes
        if evicted { s.counts.evictions += 1 }
    }
}

extension PrefixCache.Variant {
    /// How `configuration` rotates a prompt of `promptLength` tokens.
    init(configuration c: ModelConfiguration, promptLength: Int) {
        rope = c.rope
        localRope = c.localRope
        frequencyFactors = c.ropeFrequencyFactors
        ropeSequenceLength = c.rope.dependsOnSequenceLength || (c.localRope?.dependsOnSequenceLength ?? false) ? promptLength : nil
    }
}
