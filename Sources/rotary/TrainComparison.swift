import ArgumentParser
import Foundation
import RotaryModel
import RotaryService
import RotaryTraining

/// `rotary train --compare`: the experiment behind RoPE's reputation. Same model, data and order; only the
/// encoding differs; each encoding trained with `--seeds` seeds so the spread shows.
extension Train {
    struct Run {
        var seed: UInt64
        var records: [TrainingRecord]
        var bitsPerCharacter: Double
        var finalLoss: Double { records.last?.validationLoss ?? .nan }

        /// The first evaluated step whose validation loss is at or below `target`.
        func step(reaching target: Double) -> Int? { records.first { ($0.validationLoss ?? .infinity) <= target }?.step }
    }

    func runComparison(_ text: String, directory: String) throws {
        let thresholds = targets.split(separator: ",").compactMap { Double($0.trimmingCharacters(in: .whitespaces)) }
        guard seeds >= 1, !thresholds.isEmpty else { throw ValidationError("--seeds must be at least 1 and --targets a list of losses") }
        var results: [(PositionEncodingKind, [Run])] = []
        for kind in PositionEncodingKind.allCases {
            var runs: [Run] = []
            for offset in 0..<UInt64(seeds) {
                var trainer = try Trainer(settings: settings(kind, seed: seed &+ offset), corpus: text, tokenizer: tokenizer(for: text))
                let (records, csv) = try loop(&trainer)
                let suffix = seeds == 1 ? "" : "-seed\(seed &+ offset)"
                try csv.write(toFile: "\(directory)/position-encodings-\(kind.rawValue)\(suffix).csv", atomically: true, encoding: .utf8)
                runs.append(Run(seed: seed &+ offset, records: records,
                                bitsPerCharacter: trainer.bitsPerCharacter(loss: records.last?.validationLoss ?? .nan)))
            }
            results.append((kind, runs))
        }
        let svg = LinePlot.render(title: "Validation loss by position encoding (mean of \(seeds) seed\(seeds == 1 ? "" : "s"))",
                                  xLabel: "training step", yLabel: "validation loss (nats per token)",
                                  series: results.map { kind, runs in .init(name: kind.rawValue, points: meanCurve(runs)) })
        try svg.write(toFile: "\(directory)/position-encodings.svg", atomically: true, encoding: .utf8)
        let markdown = "# Position encodings compared\n\nMade by `\(CommandLine.arguments.joined(separator: " "))` (validation every "
            + "\(evalInterval) steps; seeds \(seed)–\(seed &+ UInt64(seeds - 1)); the sinusoidal model's embeddings × "
            + "\(embeddingScale.map { String($0) } ?? "√dim")).\n\n" + table(results, thresholds: thresholds)
        try markdown.write(toFile: "\(directory)/position-encodings.md", atomically: true, encoding: .utf8)
        print(markdown)
    }

    /// Final loss as mean ± sample standard deviation; steps to each target as the median and range over seeds.
    func table(_ results: [(PositionEncodingKind, [Run])], thresholds: [Double]) -> String {
        var header = "| encoding | final validation loss (nats/token) | bits per character |"
        var rule = "| --- | --- | --- |"
        for target in thresholds { header += String(format: " steps to %.2f |", target); rule += " --- |" }
        var lines = [header, rule]
        for (kind, runs) in results {
            var line = "| \(kind.rawValue) | \(spread(runs.map(\.finalLoss), digits: 4)) | \(spread(runs.map(\.bitsPerCharacter), digits: 3)) |"
            for target in thresholds {
                let steps = runs.compactMap { $0.step(reaching: target) }.sorted()
                if steps.isEmpty { line += " not reached |"; continue }
                let median = steps.count % 2 == 1 ? Double(steps[steps.count / 2]) : Double(steps[steps.count / 2 - 1] + steps[steps.count / 2]) / 2
                var cell = steps.count == 1 ? "\(steps[0])" : String(format: "%g (%d–%d)", median, steps.first!, steps.last!)
                if steps.count < runs.count { cell += " (\(steps.count) of \(runs.count) seeds)" }
                line += " \(cell) |"
            }
            lines.append(line)
        }
        return lines.joined(separator: "\n") + "\n"
    }

    func spread(_ values: [Double], digits: Int) -> String {
        let mean = values.reduce(0, +) / Double(values.count)
        guard values.count > 1 else { return String(format: "%.\(digits)f", mean) }
        let variance = values.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(values.count - 1)
        return String(format: "%.\(digits)f ± %.\(digits)f", mean, variance.squareRoot())
    }

    /// The validation curve averaged over seeds (every run evaluates at the same steps).
    func meanCurve(_ runs: [Run]) -> [(x: Double, y: Double)] {
        let points = runs[0].records.indices.map { i in
            (x: Double(runs[0].records[i].step), y: runs.map { $0.records[i].validationLoss ?? .nan }.reduce(0, +) / Double(runs.count))
        }
        return points
    }
}
