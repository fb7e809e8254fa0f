/// Byte-pair merging of one word, in llama.cpp's order: the word starts as one symbol per byte, and the
/// adjacent pair whose rule has the lowest rank merges first (the leftmost of equal pairs), until no rule
/// applies. Short words scan for the best pair; long ones keep a heap, so a huge word stays n log n.
/// Holds its buffers between words: merging allocates nothing once they are grown.
struct BytePairMerger {
    /// Words of more bytes than this merge through the heap.
    var scanLimit = 48

    /// Per symbol, indexed by the symbol's first byte: its token id (-1: no vocabulary entry), the next
    /// symbol (-1: last), the previous one, and the rank and joined id of the pair it starts.
    private var ids: [Int32] = []
    private var next: [Int32] = []
    private var previous: [Int32] = []
    private var pairRank: [Int32] = []
    private var pairJoined: [Int32] = []
    /// Heap of rank << 32 | left symbol, smallest first.
    private var heap: [UInt64] = []

    private static let noRule = Int32.max

    /// Merges `word` and appends its tokens to `output`; a symbol that is no vocabulary entry goes out as
    /// `fallback` gives it.
    /// - Parameters:
    ///   - word: `[n]` bytes, n ≥ 1.
    ///   - byteIDs: `[256]` the token of each single byte (-1 when none).
    mutating func merge(_ word: UnsafeBufferPointer<UInt8>, byteIDs: UnsafeBufferPointer<Int32>, rules: MergeTable,
                        into output: inout [Int], fallback: (UnsafeBufferPointer<UInt8>, inout [Int]) -> Void) {
        let n = word.count
        if ids.count < n {
            let size = max(n, 2 * ids.count, 64)
            ids = .init(repeating: 0, count: size); next = ids; previous = ids; pairRank = ids; pairJoined = ids
        }
        for i in 0..<n {
            ids[i] = byteIDs[Int(word[i])]
            next[i] = i + 1 < n ? Int32(i + 1) : -1
            previous[i] = Int32(i - 1)
        }
        for i in 0..<n { updatePair(Int32(i), rules) }
        if n <= scanLimit { mergeByScanning(rules) } else { mergeByHeap(n, rules) }
        var i: Int32 = 0
        while i >= 0 {
            let end = next[Int(i)] >= 0 ? Int(next[Int(i)]) : n
            if ids[Int(i)] >= 0 {
                output.append(Int(ids[Int(i)]))
            } else {
                fallback(UnsafeBufferPointer(rebasing: word[Int(i)..<end]), &output)
            }
            i = next[Int(i)]
        }
    }

    /// The rule for the pair that symbol `i` starts, if it has a right neighbour.
    @inline(__always) private mutating func updatePair(_ i: Int32, _ rules: MergeTable) {
        let right = next[Int(i)]
        let left = ids[Int(i)]
        if right >= 0, left >= 0, ids[Int(right)] >= 0, let rule = rules.rule(left, ids[Int(right)]) {
            pairRank[Int(i)] = rule.rank
            pairJoined[Int(i)] = rule.joined
        } else {
            pairRank[Int(i)] = Self.noRule
        }
    }

    /// Joins symbol `i` with its right neighbour.
    @inline(__always) private mutating func join(_ i: Int32, _ rules: MergeTable) {
        let right = next[Int(i)]
        ids[Int(i)] = pairJoined[Int(i)]
        next[Int(i)] = next[Int(right)]
        if next[Int(right)] >= 0 { previous[Int(next[Int(right)])] = i }
        pairRank[Int(right)] = Self.noRule
        updatePair(i, rules)
        if previous[Int(i)] >= 0 { updatePair(previous[Int(i)], rules) }
    }

    private mutating func mergeByScanning(_ rules: MergeTable) {
        while true {
            var best: Int32 = -1, bestRank = Self.noRule
            var i: Int32 = 0
            while i >= 0 {
                if pairRank[Int(i)] < bestRank { bestRank = pairRank[Int(i)]; best = i }
                i = next[Int(i)]
            }
            guard best >= 0 else { return }
            join(best, rules)
        }
    }

    private mutating func mergeByHeap(_ n: Int, _ rules: MergeTable) {
        heap.removeAll(keepingCapacity: true)
        for i in 0..<n where pairRank[i] != Self.noRule { push(Int32(i)) }
        while let top = pop() {
            let i = Int32(truncatingIfNeeded: top & 0xFFFF_FFFF), rank = Int32(truncatingIfNeeded: top >> 32)
            // Stale: the pair changed since it was queued (a rank names one pair of ids).
            guard pairRank[Int(i)] == rank else { continue }
            join(i, rules)
            if pairRank[Int(i)] != Self.noRule { push(i) }
            let before = previous[Int(i)]
            if before >= 0 && pairRank[Int(before)] != Self.noRule { push(before) }
        }
    }

    private mutating func push(_ i: Int32) {
        heap.append(UInt64(UInt32(bitPattern: pairRank[Int(i)])) << 32 | UInt64(UInt32(bitPattern: i)))
        var child = heap.count - 1
        while child > 0 {
            let parent = (child - 1) / 2
            guard heap[child] < heap[parent] else { break }
            heap.swapAt(child, parent)
            child = parent
        }
    }

    private mutating func pop() -> UInt64? {
        guard let last = heap.popLast() else { return nil }
        guard !heap.isEmpty else { return last }
        let top = heap[0]
        heap[0] = last
        var parent = 0
        while true {
            let left = 2 * parent + 1, right = left + 1
            var best = parent
            if left < heap.count && heap[left] < heap[best] { best = left }
            if right < heap.count && heap[right] < heap[best] { best = right }
            if best == parent { return top }
            heap.swapAt(parent, best)
            parent = best
        }
    }
}
