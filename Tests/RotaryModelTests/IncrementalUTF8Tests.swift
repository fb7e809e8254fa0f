import Testing
@testable import RotaryModel

/// Decoding a token at a time gives what decoding all the bytes at once gives.
@Suite struct IncrementalUTF8Tests {
    static let texts = ["", "plain ASCII", "Café — 東京 😀 \u{1F468}\u{200D}\u{1F469}", "ñ\n\t", "e\u{301}"]

    @Test(arguments: texts)
    func everySplitDecodesLikeTheWhole(text: String) {
        let bytes = Array(text.utf8)
        for cut in 0...bytes.count {
            var decoder = IncrementalUTF8()
            let first = decoder.append(Array(bytes[..<cut])), second = decoder.append(Array(bytes[cut...]))
            #expect(first + second + decoder.finish() == text, "cut at byte \(cut)")
            // Only whole characters come out: the first part is a prefix of the text's scalars.
            #expect(text.unicodeScalars.starts(with: first.unicodeScalars))
        }
        // One byte at a time.
        var decoder = IncrementalUTF8()
        #expect(bytes.map { decoder.append([$0]) }.joined() + decoder.finish() == text)
    }

    @Test func invalidAndTruncatedBytesBecomeReplacementCharacters() {
        let bytes: [UInt8] = [0x41, 0x80, 0xE6, 0x9D]   // A, a stray continuation byte, a truncated 3-byte character
        var decoder = IncrementalUTF8()
        let text = bytes.map { decoder.append([$0]) }.joined() + decoder.finish()
        #expect(text == String(decoding: bytes, as: UTF8.self))
    }
}
