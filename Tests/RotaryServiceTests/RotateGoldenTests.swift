import Foundation
import Testing
import RotaryTestSupport

/// Every Hugging Face golden case through `POST /rotate`.
@Suite struct RotateGoldenTests {
    static let cases: [GoldenRoPECase] = (try? GoldenRoPECase.loadAll()) ?? []

    @Test func everyCaseIsLoaded() {
        #expect(Self.cases.count >= 17)
    }

    @Test(arguments: RotateGoldenTests.cases.map(\.id))
    func rotateMatchesTransformers(id: String) async throws {
        let c = try #require(Self.cases.first { $0.id == id })
        var rope = c.parameters
        rope["layout"] = c.layout
        rope["max_position_embeddings"] = c.maxPositionEmbeddings
        let inputs = c.raw["inputs"] as! [String: Any]
        for (name, expected) in [("q", c.qRot), ("k", c.kRot)] {
            let reply = try await call("POST", "/rotate", json: [
                "vectors": inputs[name]!, "positions": c.positions, "rope": rope, "return": ["inv_freq", "cos", "sin"],
            ])
            try #require(reply.status == 200, "\(id): \(String(decoding: reply.body, as: UTF8.self))")
            let object = reply.object
            let scaling = (object["attention_scaling"] as! NSNumber).doubleValue
            #expect(abs(scaling - c.attentionScaling) <= 1e-9 * c.attentionScaling)
            let invFreq = (object["inv_freq"] as! [NSNumber]).map(\.doubleValue)
            #expect(invFreq.count == c.invFreq.count)
            for (got, want) in zip(invFreq, c.invFreq) { #expect(abs(got - want) <= 1e-6 * abs(want)) }
            let checks = [(matrix(object["vectors"]), expected, "vectors"), (matrix(object["cos"]), c.cos, "cos"),
                          (matrix(object["sin"]), c.sin, "sin")]
            for (got, want, field) in checks {
                #expect(got.count == want.count, "\(id) \(field) rows")
                for (row, position) in c.positions.enumerated() where row < got.count {
                    #expect(got[row].count == want[row].count)
                    let bound = c.tolerance(at: position)
                    let worst = zip(got[row], want[row]).map { abs(Double($0) - Double($1)) }.max() ?? 0
                    #expect(worst <= bound, "\(id) \(name) \(field) at position \(position): off by \(worst) (bound \(bound))")
                }
            }
            #expect((object["positions"] as! [Int]) == c.positions)
        }
    }
}
