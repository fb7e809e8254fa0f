import RotaryModel
import RotaryNumerics

/// A tokenized corpus split into training and held-out parts, with a deterministic batch order.
public struct TextDataset: Sendable {
    public let trainTokens: [Int]
    public let validationTokens: [Int]
    /// Characters (Unicode scalars) of the held-out text, for bits per character.
    public let validationCharacters: Int
    public let context: Int
    private var generator: SplitMix64

    /// The last `validationFraction` of the text (cut at a character boundary) is held out.
    public init(text: String, tokenizer: any Tokenizer, context: Int, validationFraction: Double, seed: UInt64) {
        let scalars = Array(text.unicodeScalars)
        let cut = Int(Double(scalars.count) * (1 - validationFraction))
        let train = String(String.UnicodeScalarView(scalars[..<cut]))
        let held = String(String.UnicodeScalarView(scalars[cut...]))
        trainTokens = tokenizer.encode(train, addSpecial: false)
        validationTokens = tokenizer.encode(held, addSpecial: false)
        validationCharacters = scalars.count - cut
        self.context = context
        generator = SplitMix64(seed: seed)
    }

    /// `rows` windows of `context + 1` tokens at seeded random offsets of the training tokens.
    public mutating func nextBatch(rows: Int) -> TrainingBatch {
        var inputs: [[Int]] = [], targets: [[Int]] = []
        let span = trainTokens.count - context - 1
        precondition(span > 0, "the training text is shorter than one context")
        for _ in 0..<rows {
            let start = Int(generator.next() % UInt64(span))
            inputs.append(Array(trainTokens[start..<(start + context)]))
            targets.append(Array(trainTokens[(start + 1)...(start + context)]))
        }
        return TrainingBatch(inputs: inputs, targets: targets)
    }

    /// Consecutive non-overlapping windows over the held-out tokens (at most `maxRows`).
    public func validationBatches(rows: Int, maxRows: Int) -> [TrainingBatch] {
        var windows: [(inputs: [Int], targets: [Int])] = []
        var start = 0
        while start + context + 1 <= validationTokens.count && windows.count < maxRows {
            windows.append((Array(validationTokens[start..<(start + context)]), Array(validationTokens[(start + 1)...(start + context)])))
            start += context
        }
        return stride(from: 0, to: windows.count, by: rows).map { first in
            let slice = windows[first..<min(first + rows, windows.count)]
            return TrainingBatch(inputs: slice.map(\.inputs), targets: slice.map(\.targets))
        }
    }
}

