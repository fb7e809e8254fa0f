import Foundation
import Testing
import RotaryTestSupport
@testable import RotaryModel

/// One llama.cpp fixture file of `../shared/golden/llama`.
struct LlamaFixture: @unchecked Sendable {
    struct Case { let id: String; let prompt: String; let tokens: [Int]; let lastLogits: [Float]; let argmax: Int
        let greedy: [Int]; let margin: Double; let allLogits: [[Float]]? }
    let model: [String: Any]
    let cases: [Case]

    init(_ name: String) throws {
        let url = sharedDirectory().appendingPathComponent("golden/llama/\(name)")
        let root = try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as! [String: Any]
        model = root["model"] as! [String: Any]
        func floats(_ any: Any?) -> [Float] { (any as! [NSNumber]).map { Float(truncating: $0) } }
        cases = (root["cases"] as! [[String: Any]]).map { c in
            Case(id: c["id"] as! String, prompt: c["prompt"] as! String, tokens: c["tokens"] as! [Int],
                 lastLogits: floats(c["last_logits"]), argmax: c["argmax"] as! Int, greedy: c["greedy_next"] as! [Int],
                 margin: (c["greedy_min_margin"] as! NSNumber).doubleValue,
                 allLogits: (c["all_logits"] as? [Any])?.map(floats))
        }
    }
}

func argmax(_ values: ArraySlice<Float>) -> Int { values.indices.max { values[$0] < values[$1] }! - values.startIndex }

/// Token ids, logits and greedy continuations equal to llama.cpp's.
@Suite(.serialized) struct LlamaGoldenTests {
    static let tolerance: Float = 1e-3

    static func check(model: LlamaModel, fixture: LlamaFixture) {
        let vocab = model.configuration.vocabularySize
        for c in fixture.cases {
            let tokens = model.tokenizer.encode(c.prompt)
            #expect(tokens == c.tokens, "\(c.id): tokens")
            guard tokens == c.tokens else { continue }
            var cache = model.makeCache()
            let logits = model.forward(tokens, cache: &cache, allLogits: true)
            let last = logits[((tokens.count - 1) * vocab)...]
            let worst = zip(last, c.lastLogits).map { abs($0 - $1) }.max()!
            #expect(worst <= tolerance, "\(c.id): last logits off by \(worst)")
            #expect(argmax(last) == c.argmax, "\(c.id): argmax")
            if let all = c.allLogits {
                for (position, row) in all.enumerated() {
                    let got = logits[(position * vocab)..<((position + 1) * vocab)]
                    let off = zip(got, row).map { abs($0 - $1) }.max()!
                    #expect(off <= tolerance, "\(c.id): logits at position \(position) off by \(off)")
                }
            }
            // Greedy continuation: exact where the margin allows, teacher-forced step by step otherwise.
            var next = argmax(last)
            for (step, expected) in c.greedy.enumerated() {
                if c.margin > 2 * Double(tolerance) {
                    #expect(next == expected, "\(c.id): greedy step \(step)")
                }
                let stepLogits = model.forward([expected], cache: &cache)
                next = argmax(stepLogits[...])
                if step + 1 < c.greedy.count && c.margin <= 2 * Double(tolerance) {
                    // Within the margin rule: the fixture's own choice must be among our near-top candidates.
                    let best = stepLogits.max()!
                    #expect(best - stepLogits[c.greedy[step + 1]] <= 2 * tolerance, "\(c.id): teacher-forced step \(step + 1)")
                }
            }
        }
    }

    @Test(arguments: ["tiny-seed1234", "tiny-rope-linear2-seed1234"])
    func tinyModelsMatchLlamaCpp(name: String) throws {
        let fixture = try LlamaFixture("\(name).json")
        #expect(fixture.cases.count == 8)
        let model = try LlamaModel(path: sharedDirectory().appendingPathComponent("golden/llama/\(name).gguf").path)
        #expect(model.weights.parameterCount == fixture.model["n_params"] as! Int)
        Self.check(model: model, fixture: fixture)
    }

    @Test func smallModelMatchesLlamaCpp() throws {
        let fixture = try LlamaFixture("small-seed1234.json")
        #expect(fixture.cases.count == 2)
        let path = try SmallModel.path(sha256: fixture.model["sha256"] as! String)
        let model = try LlamaModel(path: path)
        #expect(model.weights.parameterCount == fixture.model["n_params"] as! Int)
        Self.check(model: model, fixture: fixture)
    }

    @Test func prefillEqualsTokenByTokenDecoding() throws {
        let model = try LlamaModel(path: sharedDirectory().appendingPathComponent("golden/llama/tiny-seed1234.gguf").path)
        let tokens = model.tokenizer.encode("Once upon a time, there was a little robot who loved to read.")
        var prefillCache = model.makeCache()
        let prefill = model.forward(tokens, cache: &prefillCache, allLogits: true)
        var stepCache = model.makeCache()
        let vocab = model.configuration.vocabularySize
        for (t, token) in tokens.enumerated() {
            let step = model.forward([token], cache: &stepCache)
            let off = zip(step, prefill[(t * vocab)..<((t + 1) * vocab)]).map { abs($0 - $1) }.max()!
            #expect(off <= 1e-4, "position \(t) off by \(off)")
        }
        // Chunks of a prompt also agree with the whole.
        var chunkCache = model.makeCache()
        _ = model.forward(Array(tokens[0..<10]), cache: &chunkCache)
        let rest = model.forward(Array(tokens[10...]), cache: &chunkCache, allLogits: true)
        let off = zip(rest, prefill[(10 * vocab)...]).map { abs($0 - $1) }.max()!
        #expect(off <= 1e-4)
    }
}

/// The 15M-parameter fixture model, regenerated with the shared generator (it is not stored).
enum SmallModel {
    static func path(sha256 expected: String) throws -> String {
        let directory = repositoryRoot().appendingPathComponent(".build/golden")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let path = directory.appendingPathComponent("small-seed1234.gguf").path
        if (try? sha256(path)) != expected {
            let tools = sharedDirectory().appendingPathComponent("golden/llama/tools/make_tiny_gguf.py").path
            try run("/usr/bin/env", ["python3", tools, "--config", "small", "--seed", "1234", "--rope-theta", "10000.0",
                                     "--name", "test-llama-small-seed1234", "-o", path])
        }
        let actual = try sha256(path)
        guard actual == expected else { throw GGUFError("regenerated small model has sha256 \(actual), expected \(expected)") }
        return path
    }

    static func sha256(_ path: String) throws -> String {
        String(try run("/usr/bin/sha256sum", [path]).prefix(64))
    }

    @discardableResult
    static func run(_ tool: String, _ arguments: [String]) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: tool)
        process.arguments = arguments
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        try process.run()
        let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        guard process.terminationStatus == 0 else { throw GGUFError("\(tool) \(arguments.joined(separator: " ")) failed: \(output)") }
        return output
    }
}
