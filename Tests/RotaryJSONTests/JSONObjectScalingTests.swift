import Foundation
import Testing
@testable import RotaryJSON

/// Objects with many keys parse in time linear in the body: the duplicate-key check must not scan
/// every earlier key (40k keys took 3.2 s when it did).
@Suite struct JSONObjectScalingTests {
    /// The server's default body limit (`ServerConfiguration.maxBodyBytes`, 8 MiB).
    static let bodyLimit = 8 << 20

    /// `{"k0":0,"k1":0,...}` and `["k0",0,"k1",0,...]`: the same strings and numbers, as members and
    /// as elements, both just under `bytes` long.
    static func bodies(bytes: Int) -> (object: [UInt8], array: [UInt8]) {
        var object: [UInt8] = [UInt8(ascii: "{")], array: [UInt8] = [UInt8(ascii: "[")]
        var i = 0
        while true {
            let key = Array("\"k\(i)\"".utf8)
            guard object.count + key.count + 4 < bytes else { break }
            if i > 0 { object.append(UInt8(ascii: ",")); array.append(UInt8(ascii: ",")) }
            object += key + Array(":0".utf8)
            array += key + Array(",0".utf8)
            i += 1
        }
        object.append(UInt8(ascii: "}")); array.append(UInt8(ascii: "]"))
        return (object, array)
    }

    /// Seconds of the fastest of `runs` parses (the least disturbed by a busy machine).
    static func fastestParse(_ body: [UInt8], runs: Int) throws -> Double {
        var best = Double.infinity
        for _ in 0..<runs {
            let start = Date()
            _ = try JSONParser().parse(body)
            best = min(best, Date().timeIntervalSince(start))
        }
        return best
    }

    @Test func manyKeysAtTheBodyLimitParseAsFastAsAnArrayOfTheSameSize() throws {
        let (object, array) = Self.bodies(bytes: Self.bodyLimit)
        #expect(object.count > Self.bodyLimit - 64 && object.count == array.count)
        let arrayTime = try Self.fastestParse(array, runs: 2)
        let objectTime = try Self.fastestParse(object, runs: 2)
        guard case .object(let members) = try JSONParser().parse(object) else { Issue.record("not an object"); return }
        #expect(members.count > 500_000)
        // Linear parsing costs a few times the array (a hash insert per key); quadratic costs thousands.
        #expect(objectTime < 8 * arrayTime + 0.05, "object \(objectTime) s vs array \(arrayTime) s")
    }

    @Test func aDuplicateAmongManyKeysIsStillFound() {
        var (object, _) = Self.bodies(bytes: 4096)
        object.removeLast()
        object += Array(",\"k7\":1}".utf8)
        #expect(throws: JSONParseError.self) { try JSONParser().parse(object) }
        do { _ = try JSONParser().parse(object) } catch { #expect(error.description.contains("duplicate key 'k7'")) }
    }
}
