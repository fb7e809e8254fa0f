import RotaryHTTP
import RotaryJSON

/// Parses a JSON body; a syntax error is a 400 naming where it is.
func parseJSON(_ body: [UInt8], limits: ServiceConfiguration) throws(HTTPError) -> JSONValue {
    do {
        return try JSONParser(maxDepth: limits.maxJSONDepth).parse(body)
    } catch {
        throw HTTPError.badRequest("invalid JSON: \(error.description)", param: error.path.isEmpty ? nil : error.path)
    }
}
