/// Finds stop sequences in generated text as its bytes arrive: an Aho–Corasick automaton over the
/// strings' UTF-8, so each byte costs amortized O(1) however many strings there are and however long
/// the text grows (checking every string against the whole text after every token cost
/// strings × text length per token).
struct StopSequenceMatcher: Sendable {
    /// Children of each trie node by byte; node 0 is the root (the empty string).
    private var children: [[UInt8: Int32]] = [[:]]
    /// The node of the longest proper suffix of each node's string that is also in the trie.
    private var failure: [Int32] = [0]
    /// Byte length of the longest stop string that ends each node's string (0: none does).
    private var longestEnding: [Int32] = [0]
    /// Where the text read so far leaves the automaton.
    private var state: Int32 = 0
    /// Bytes read so far.
    private(set) var offset = 0

    /// Empty strings never match (as before: an empty stop sequence is ignored).
    init(_ stops: [String]) {
        var depth: [Int32] = [0]
        for stop in stops where !stop.isEmpty {
            var node = 0
            for byte in stop.utf8 {
                if let next = children[node][byte] { node = Int(next); continue }
                children.append([:]); failure.append(0); longestEnding.append(0); depth.append(depth[node] + 1)
                children[node][byte] = Int32(children.count - 1)
                node = children.count - 1
            }
            longestEnding[node] = depth[node]
        }
        // Breadth first, so each node's failure target (a shorter string) is complete before it.
        var queue = children[0].values.map { Int($0) }
        var head = 0
        while head < queue.count {
            let node = queue[head]
            head += 1
            longestEnding[node] = max(longestEnding[node], longestEnding[Int(failure[node])])
            for (byte, child) in children[node] {
                failure[Int(child)] = step(from: failure[node], byte)
                queue.append(Int(child))
            }
        }
    }

    var isEmpty: Bool { children.count == 1 }

    /// Reads `bytes` (the next piece of the text); returns the byte offset in the whole text of the
    /// earliest-starting stop string that ends inside them, or nil.
    mutating func match(_ bytes: [UInt8]) -> Int? {
        guard !isEmpty else { offset += bytes.count; return nil }
        var earliest: Int?
        for byte in bytes {
            state = step(from: state, byte)
            offset += 1
            let length = Int(longestEnding[Int(state)])
            if length > 0 { earliest = min(earliest ?? .max, offset - length) }
        }
        return earliest
    }

    /// The automaton's move on `byte`: the child, else the failure targets' children, else the root.
    private func step(from node: Int32, _ byte: UInt8) -> Int32 {
        var node = node
        while true {
            if let next = children[Int(node)][byte] { return next }
            if node == 0 { return 0 }
            node = failure[Int(node)]
        }
    }
}
