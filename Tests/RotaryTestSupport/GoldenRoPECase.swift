import Foundation

/// One case of `../shared/golden/rope/cases.json` (Hugging Face transformers output), read as Floats.
public struct GoldenRoPECase: @unchecked Sendable {
    public let id: String
    public let layout: String
    public let headDim: Int
    public let rotaryDim: Int
    public let maxPositionEmbeddings: Int
    public let parameters: [String: Any]
    public let positions: [Int]
    public let sequenceLength: Int
    public let q: [[Float]], k: [[Float]]
    public let invFreq: [Double]
    public let attentionScaling: Double
    public let cos: [[Float]], sin: [[Float]]
    public let qRot: [[Float]], kRot: [[Float]]
    public let relativeQ: [Float], relativeK: [Float]
    public let pairs: [(m: Int, n: Int, dot: Double, dotFloat64: Double, tolerance: Double)]

    /// The raw case object, for building requests from it.
    public let raw: [String: Any]

    public static func loadAll() throws -> [GoldenRoPECase] {
        let url = sharedDirectory().appendingPathComponent("golden/rope/cases.json")
        let root = try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as! [String: Any]
        return (root["cases"] as! [[String: Any]]).map(GoldenRoPECase.init)
    }

    init(_ json: [String: Any]) {
        raw = json
        func floats(_ any: Any?) -> [Float] { (any as! [NSNumber]).map { Float(truncating: $0) } }
        func matrix(_ any: Any?) -> [[Float]] { (any as! [Any]).map(floats) }
        id = json["id"] as! String
        layout = json["layout"] as! String
        headDim = json["head_dim"] as! Int
        rotaryDim = json["rotary_dim"] as! Int
        maxPositionEmbeddings = json["max_position_embeddings"] as! Int
        parameters = json["rope_parameters"] as! [String: Any]
        positions = json["positions"] as! [Int]
        sequenceLength = json["seq_len"] as! Int
        let inputs = json["inputs"] as! [String: Any]
        q = matrix(inputs["q"]); k = matrix(inputs["k"])
        let expected = json["expected"] as! [String: Any]
        invFreq = (expected["inv_freq"] as! [NSNumber]).map(\.doubleValue)
        attentionScaling = (expected["attention_scaling"] as! NSNumber).doubleValue
        cos = matrix(expected["cos"]); sin = matrix(expected["sin"])
        qRot = matrix(expected["q_rot"]); kRot = matrix(expected["k_rot"])
        let relative = json["relative"] as! [String: Any]
        relativeQ = floats(relative["q"]); relativeK = floats(relative["k"])
        pairs = (relative["pairs"] as! [[String: Any]]).map {
            ($0["m"] as! Int, $0["n"] as! Int, ($0["dot"] as! NSNumber).doubleValue,
             ($0["dot_float64"] as! NSNumber).doubleValue, ($0["tolerance"] as! NSNumber).doubleValue)
        }
    }

    /// The elementwise bound of the golden README: max(1, s)·(1e-5 + 4e-7·p).
    public func tolerance(at position: Int) -> Double {
        max(1, attentionScaling) * (1e-5 + 4e-7 * Double(position))
    }
}
