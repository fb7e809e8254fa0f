import Foundation
import RotaryHTTP
import RotaryModel
import RotaryService
import RotaryTestSupport

/// Calls the service's router in process, as the server would.
func call(_ method: String, _ path: String, json: Any? = nil, body: [UInt8]? = nil, contentType: String = "application/json",
          accept: String? = nil, query: [(name: String, value: String)] = [],
          configuration: ServiceConfiguration = ServiceConfiguration()) async throws -> Response {
    var headers: [(name: String, value: String)] = [("Content-Type", contentType)]
    if let accept { headers.append(("Accept", accept)) }
    let bytes = try body ?? json.map { [UInt8](try JSONSerialization.data(withJSONObject: $0, options: [.fragmentsAllowed])) } ?? []
    let request = Request(method: method, path: path, query: query, headers: headers, body: bytes)
    return await Service.router(configuration: configuration).respond(to: request)
}

extension Response {
    var object: [String: Any] { (try? JSONSerialization.jsonObject(with: Data(body))) as? [String: Any] ?? [:] }
    var error: [String: Any] { object["error"] as? [String: Any] ?? [:] }
}

/// `[[Float]]` from a JSON array of arrays.
func matrix(_ any: Any?) -> [[Float]] {
    ((any as? [[NSNumber]]) ?? []).map { $0.map { Float(truncating: $0) } }
}

/// The tiny llama.cpp fixture model, loaded once, in a model owner.
func tinyModelOwner(queueLimit: Int = 16, maxRunningSequences: Int = 8, prefixCache: Bool = true) -> ModelOwner {
    ModelOwner(model: TinyModel.shared, name: "tiny-seed1234", queueLimit: queueLimit,
               batchLimits: .init(maxRunningSequences: maxRunningSequences, prefixCache: prefixCache))
}

enum TinyModel {
    static let shared: LlamaModel = try! LlamaModel(path: sharedDirectory().appendingPathComponent("golden/llama/tiny-seed1234.gguf").path)
}

/// A configuration whose chat template (scripts/templates/test-chat-template.jinja) speaks the tiny model's
/// control tokens: the tiny fixture has no template of its own.
func chatConfiguration() -> ServiceConfiguration {
    var configuration = ServiceConfiguration()
    configuration.chatTemplate = try! String(contentsOf: repositoryRoot().appendingPathComponent("scripts/templates/test-chat-template.jinja"),
                                             encoding: .utf8)
    return configuration
}
