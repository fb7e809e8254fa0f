import Foundation
import Testing
@testable import RotaryJSON

@Suite struct JSONParserTests {
    let parser = JSONParser()

    @Test func parsesEveryKindOfValue() throws {
        let value = try parser.parse(#" {"a": [1, 2.5, -3e2], "b": {"c": null, "d": true, "e": false}, "s": "x\"\u00e9\ud83d\ude00\n", "mixed": [1, "two"], "empty": []} "#)
        #expect(value["a"] == .numbers([1, 2.5, -300]))
        #expect(value["b"]?["c"] == .null)
        #expect(value["b"]?["d"] == .bool(true))
        #expect(value["s"] == .string("x\"é😀\n"))
        #expect(value["mixed"] == .array([.number(1), .string("two")]))
        #expect(value["empty"] == .array([]))
    }

    /// The fast path must give exactly what a correctly rounded conversion gives.
    @Test func numbersRoundCorrectly() throws {
        var generator = SystemRandomNumberGenerator()
        var texts = ["0", "-0", "0.1", "0.7499", "1e-7", "123456789012345678901234567890", "2.2250738585072014e-308",
                     "9007199254740993", "1.7976931348623157e308", "4.9e-324", "0.000001234", "-1.2345678e-05", "1E+2"]
        for _ in 0..<2000 {
            let value = Float.random(in: -10...10, using: &generator) * pow(10, Float(Int.random(in: -8...8, using: &generator)))
            texts.append(value.description)
            texts.append(String(Double.random(in: -1e6...1e6, using: &generator)))
        }
        for text in texts {
            let parsed = try parser.parse(text)
            #expect(parsed == .number(strtod(text, nil)), "\(text)")
        }
    }

    @Test(arguments: [
        ("", "empty document"), ("[1,]", "expected a value"), ("{\"a\":1,}", "expected a string key"),
        ("[1 2]", "expected ',' or ']'"), ("NaN", "expected a value"), ("[Infinity]", "expected a value"),
        ("[1e400]", "out of range"), ("01", "leading zero"), ("1.", "after '.'"), ("\"abc", "unterminated"),
        ("{\"a\":1} x", "after the JSON value"), ("{\"a\":1,\"a\":2}", "duplicate key"), ("tru", "expected 'true'"),
        ("\"\\x\"", "invalid escape"), ("\"\\ud800\"", "lone high surrogate"), ("\"a\u{01}\"", "control character"),
        ("-", "expected a digit"), ("1e", "exponent"),
    ])
    func rejectsInvalidDocuments(text: String, expected: String) {
        #expect {
            _ = try parser.parse(text)
        } throws: { error in
            (error as? JSONParseError)?.reason.contains(expected) == true
        }
    }

    @Test func errorsSayWhere() {
        do {
            _ = try parser.parse("{\n  \"vectors\": [[1, 2], [3, x]]\n}")
            Issue.record("accepted invalid JSON")
        } catch {
            #expect(error.line == 2)
            #expect(error.column == 27)
            #expect(error.path == "vectors[1][1]")
        }
    }

    @Test func invalidUTF8IsRejected() {
        #expect(throws: JSONParseError.self) { _ = try parser.parse([0x22, 0xC3, 0x28, 0x22]) }
    }

    @Test func deepNestingIsAnErrorNotACrash() {
        let deep = String(repeating: "[", count: 100_000) + String(repeating: "]", count: 100_000)
        #expect {
            _ = try parser.parse(deep)
        } throws: { error in
            (error as? JSONParseError)?.reason.contains("nesting deeper than 64") == true
        }
    }

    @Test func writerRoundTripsFloatsExactly() throws {
        var generator = SystemRandomNumberGenerator()
        let values = (0..<5000).map { _ in Float(bitPattern: UInt32.random(in: 0...UInt32.max, using: &generator)) }.filter(\.isFinite)
        var writer = JSONWriter()
        writer.floats(values)
        guard case .numbers(let parsed) = try parser.parse(writer.bytes) else {
            Issue.record("not a number array"); return
        }
        #expect(parsed.map(Float.init) == values)
    }

    @Test func writerEscapesAndWritesNullForNonFinite() throws {
        var writer = JSONWriter()
        writer.raw("{"); writer.key("t\"ab\u{1}"); writer.raw("["); writer.float(.nan); writer.comma(); writer.double(-.infinity)
        writer.raw("]}")
        #expect(String(decoding: writer.bytes, as: UTF8.self) == #"{"t\"ab\u0001":[null,null]}"#)
        let tensor: [Float] = [1, 2, 3, 4, 5, 6]
        var nested = JSONWriter()
        tensor.withUnsafeBufferPointer { nested.tensor($0, shape: [1, 2, 3]) }
        #expect(String(decoding: nested.bytes, as: UTF8.self) == "[[[1.0,2.0,3.0],[4.0,5.0,6.0]]]")
    }
}
