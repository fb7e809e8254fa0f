import Testing
import RotaryService

/// Settings of an `.npy` `/rotate` travel in the query string: a value of the wrong type (or a name
/// that is no setting, or one given twice) is a 400 whose `param` names the query parameter.
@Suite struct NPYQueryParameterTests {
    @Test(arguments: [
        ([("rope", "1")], "rope", "not a setting"),
        ([("rope", "abc")], "rope", "not a setting"),
        ([("vectors", "1")], "vectors", "not a setting"),
        ([("inverse", "abc")], "inverse", "true or false"),
        ([("rope_type", "yarn"), ("truncate", "2")], "truncate", "true or false"),
        ([("inverse", "true"), ("inverse", "false")], "inverse", "twice"),
        ([("offset", "1"), ("offset", "2")], "offset", "twice"),
        ([("offset", "true")], "offset", "number"),
        ([("rope_type", "linear"), ("factor", "x")], "factor", "number"),
        ([("positions", "a,b")], "positions", "numbers"),
    ])
    func aWronglyTypedParameterIsNamed(query: [(String, String)], param: String, message: String) async throws {
        let reply = try await call("POST", "/rotate", body: RotateRequestTests.npy([1, 2, 3, 4, 5, 6, 7, 8], shape: [1, 8]),
                                   contentType: "application/x-npy", query: query.map { (name: $0.0, value: $0.1) })
        #expect(reply.status == 400)
        #expect(reply.error["param"] as? String == param, "\(query): \(reply.error)")
        #expect((reply.error["message"] as? String ?? "").contains(message), "\(query): \(reply.error)")
    }
}
