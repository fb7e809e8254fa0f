/// How a byte-level BPE vocabulary cuts text into words before merging, keyed on `tokenizer.ggml.pre` as
/// llama.cpp names and defines them: a list of split steps (each cuts every piece so far into its
/// matches and the text between them), whether a word that is itself a token skips merging
/// (`ignore_merges`), and whether decoding cleans up spaces before punctuation (`clean_spaces`).
struct PreTokenizer: Sendable {
    let steps: [SplitStep]
    var ignoresMerges = false
    var cleansSpaces = true
    var addsBOS = false

    /// The pre-tokenizer llama.cpp runs for `name`; nil for a name it does not know (or Rotary lacks).
    static func named(_ name: String) -> PreTokenizer? {
        switch name {
        case "default":
            PreTokenizer(steps: [.runs(.punctuationOr("$+<=>^~|")), .gpt2, .runs(.numbers), .asciiDigitTriples])
        case "llama-bpe", "llama3", "llama-v3":
            PreTokenizer(steps: [.llama3(digitGroup: 3)], ignoresMerges: true, addsBOS: true)
        case "qwen2", "deepseek-r1-qwen":
            PreTokenizer(steps: [.llama3(digitGroup: 1)], cleansSpaces: false)
        case "gpt-2", "phi-2", "mpt", "olmo":
            PreTokenizer(steps: [.gpt2])
        case "starcoder", "refact":
            PreTokenizer(steps: [.each(.numbers), .gpt2])
        case "smollm", "command-r":
            PreTokenizer(steps: [.each(.numbers), .gpt2], cleansSpaces: false)
        case "falcon":
            PreTokenizer(steps: [.runs(.punctuationOr("$+<=>^~|`")), .gpt2, .asciiDigitTriples])
        case "deepseek-llm":
            PreTokenizer(steps: [.each(.newlines), .optionalSpaceThenRuns(.deepSeekLetters), .optionalSpaceThenRuns(.deepSeekPunctuation),
                                 .trailingWhitespace, .runs(.chineseAndKorean), .runs(.numbers)], cleansSpaces: false)
        case "deepseek-coder":
            PreTokenizer(steps: [.each(.newlines), .optionalSpaceThenRuns(.letters), .optionalSpaceThenRuns(.punctuation),
                                 .runs(.chineseAndKorean), .each(.numbers)], cleansSpaces: false)
        default:
            nil
        }
    }

    /// Every `tokenizer.ggml.pre` this reads.
    static let names = ["default", "llama-bpe", "llama3", "llama-v3", "qwen2", "deepseek-r1-qwen", "gpt-2", "phi-2", "mpt", "olmo",
                        "starcoder", "refact", "smollm", "command-r", "falcon", "deepseek-llm", "deepseek-coder"]

    /// The words of one text, as end positions.
    /// - Parameters:
    ///   - scalars: `[n]` the text's code points.
    ///   - classes: `[n]` their classes.
    /// - Returns: the end (exclusive) of each word, increasing, the last one `n`.
    func words(_ scalars: UnsafeBufferPointer<UInt32>, _ classes: UnsafeBufferPointer<CharacterClass>) -> [Int32] {
        var ends: [Int32] = [Int32(scalars.count)]
        let text = ScannedText(scalars: scalars, classes: classes)
        for step in steps {
            var refined: [Int32] = []
            refined.reserveCapacity(ends.count * 2)
            var start = 0
            for end in ends {
                step.split(text, Int(start)..<Int(end), into: &refined)
                start = Int(end)
            }
            ends = refined
        }
        return ends
    }
}

/// A text as the split steps read it.
struct ScannedText {
    let scalars: UnsafeBufferPointer<UInt32>
    let classes: UnsafeBufferPointer<CharacterClass>
}
