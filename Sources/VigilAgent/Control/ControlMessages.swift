import Foundation
import NIOCore

/// `GET /v1/members` and `vigil members --format json`: `{"members":[...]}`.
public struct MemberList: Codable, Sendable, Equatable {
    public var members: [MemberView]

    public init(members: [MemberView]) {
        self.members = members
    }
}

/// The body of every answer that is not a success: `{"error":"..."}`.
struct ControlErrorBody: Error, Codable, Sendable, Equatable {
    var error: String
}

/// The body of `POST /v1/leave` (202) and `POST /v1/force-leave/{name}` (200).
struct ControlStatusBody: Codable, Sendable, Equatable {
    var status: String
    var member: String?
}

/// How the control API writes and reads JSON: keys sorted, so that answers are stable
/// and diffable.
public enum ControlJSON {
    /// Compact JSON followed by a newline: one answer body, or one NDJSON line.
    public static func line<T: Encodable>(_ value: T) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return String(decoding: try encoder.encode(value), as: UTF8.self) + "\n"
    }

    /// Indented JSON followed by a newline, for people (`--format json`).
    public static func pretty<T: Encodable>(_ value: T) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes, .prettyPrinted]
        return String(decoding: try encoder.encode(value), as: UTF8.self) + "\n"
    }

    static func buffer<T: Encodable>(_ value: T) throws -> ByteBuffer {
        ByteBuffer(string: try self.line(value))
    }

    static func decode<T: Decodable>(_ type: T.Type, from buffer: ByteBuffer) throws -> T {
        try JSONDecoder().decode(type, from: Data(buffer.readableBytesView))
    }
}
