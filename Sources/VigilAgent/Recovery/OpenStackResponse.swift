import Foundation
import NIOHTTP1

/// One answer of an OpenStack API, read whole (bounded by `OpenStackHTTP.maxBodyBytes`).
struct OpenStackResponse: Sendable {
    var status: Int
    var headers: HTTPHeaders
    var body: Data

    var isSuccess: Bool { (200..<300).contains(self.status) }

    /// The body decoded as `type`, or `nil` if it is not that JSON.
    func decode<T: Decodable>(_ type: T.Type) -> T? {
        try? JSONDecoder().decode(type, from: self.body)
    }

    /// The API's own explanation of an error, one line of at most 300 characters,
    /// with every string of `secrets` replaced by `<redacted>`.
    ///
    /// OpenStack services wrap it as `{"badRequest": {"code": 400, "message": "..."}}`
    /// (Nova, Masakari: the key names the fault), Keystone as `{"error": {"message": ...}}`;
    /// anything else is shown as text.
    func faultMessage(redacting secrets: [String]) -> String {
        var message: String
        if let object = try? JSONSerialization.jsonObject(with: self.body) as? [String: Any],
            let fault = object.values.compactMap({ ($0 as? [String: Any])?["message"] as? String }).first
                ?? object["message"] as? String
        {
            message = fault
        } else {
            message = String(decoding: self.body, as: UTF8.self)
        }
        message = message.split(whereSeparator: \.isNewline).map { $0.trimmingCharacters(in: .whitespaces) }
            .filter { !$0.isEmpty }.joined(separator: " ")
        for secret in secrets where !secret.isEmpty {
            message = message.replacingOccurrences(of: secret, with: "<redacted>")
        }
        if message.count > 300 { message = String(message.prefix(300)) + "..." }
        return message.isEmpty ? "no explanation in the answer" : message
    }
}
