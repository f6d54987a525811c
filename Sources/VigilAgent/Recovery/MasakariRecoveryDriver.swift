import AsyncHTTPClient
import Foundation
import Logging
import NIOCore

/// Recovery through Masakari: one `COMPUTE_HOST` notification saying the node is
/// stopped, after which Masakari's engine evacuates it by its segment's recovery method.
///
/// **Only for a fenced node.** The HA loop calls `recover(_:)` only after a fence driver
/// confirmed power-off; Vigil sends `host_status: NORMAL` and `cluster_status: OFFLINE`,
/// which Masakari reads as "the host is down for good, evacuate now" and acts on without
/// fencing anything itself. Sending it for a node that may still run would start its
/// instances twice.
///
/// Answers (Masakari API v1, `POST /v1/notifications`):
/// - 202: done; the detail names the notification's uuid.
/// - 409 "... is duplicate": done; Masakari already has this notification (same host,
///   type and payload within `duplicate_notification_detection_interval` of
///   `generated_time`, which is the fence time and so the same on every retry).
/// - 409 host under maintenance, 400 (e.g. the host is in no failover segment):
///   `RecoveryError.refused` with Masakari's message; retrying as is will not help.
/// - 401 twice (after one re-authentication): `.unauthorized`; 5xx: `.failed`;
///   no answer: `.unreachable` / `.timedOut`. These are worth retrying.
public struct MasakariRecoveryDriver: RecoveryDriver {
    /// How to reach Masakari.
    public struct Settings: Sendable, Equatable {
        /// Keystone (catalog type `serviceType`) or a direct endpoint / noauth.
        public var access: OpenStackAccess
        /// The catalog's service type for Masakari (default `instance-ha`).
        public var serviceType: String

        public init(access: OpenStackAccess, serviceType: String = "instance-ha") {
            self.access = access
            self.serviceType = serviceType
        }
    }

    public let method = "masakari"
    public let settings: Settings
    private let client: OpenStackClient
    private let logger: Logger

    /// - Parameters:
    ///   - httpClient: the HTTP client to use; its owner shuts it down (default: `RecoveryHTTPClient.shared`).
    ///   - logger: for one line per notification; never sees a secret.
    public init(settings: Settings, httpClient: HTTPClient = RecoveryHTTPClient.shared, logger: Logger) {
        self.settings = settings
        self.logger = logger
        self.client = OpenStackClient(
            service: "masakari", serviceType: settings.serviceType, versionSegment: "v1", access: settings.access,
            httpClient: httpClient, logger: logger)
    }

    /// The notification's JSON for `request`.
    static func notificationBody(for request: RecoveryRequest) -> Data {
        let body: [String: Any] = [
            "notification": [
                "type": "COMPUTE_HOST",
                "hostname": request.node,
                "generated_time": Self.generatedTime(request.fencedAt),
                "payload": ["event": "STOPPED", "host_status": "NORMAL", "cluster_status": "OFFLINE"],
            ]
        ]
        return (try? JSONSerialization.data(withJSONObject: body, options: [.sortedKeys])) ?? Data()
    }

    /// ISO 8601 in UTC with whole seconds, e.g. `2026-12-01T07:39:00Z`: Masakari's
    /// `date-time` and the same text for the same `fencedAt` on every retry.
    static func generatedTime(_ date: Date) -> String {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime]
        formatter.timeZone = TimeZone(identifier: "UTC")
        return formatter.string(from: date)
    }

    public func recover(_ request: RecoveryRequest) async throws(RecoveryError) -> RecoveryOutcome {
        let deadline = OpenStackHTTP.deadline(after: request.timeout)
        let response = try await self.client.send(
            .POST, "/notifications", json: Self.notificationBody(for: request), deadline: deadline)
        let node = request.node
        switch response.status {
        case 200, 201, 202:
            let uuid = response.decode(NotificationAnswer.self)?.notification.notificationUUID ?? "(no uuid in answer)"
            self.logger.info(
                "masakari notification accepted",
                metadata: ["ha.node": "\(node)", "ha.term": "\(request.term)", "masakari.notification": "\(uuid)"])
            return RecoveryOutcome(method: self.method, detail: "notification \(uuid) accepted (\(response.status))")
        case 409:
            let message = response.faultMessage(redacting: await self.client.secrets())
            if message.lowercased().contains("duplicate") {
                self.logger.info(
                    "masakari already has this notification", metadata: ["ha.node": "\(node)", "ha.term": "\(request.term)"])
                return RecoveryOutcome(
                    method: self.method, detail: "duplicate (409): Masakari already has this notification: \(message)")
            }
            throw .refused(
                "masakari refused the notification for \(node) (409): \(message); if the host is under maintenance in Masakari, recover it by hand or clear on_maintenance, then retry")
        case 400:
            let message = response.faultMessage(redacting: await self.client.secrets())
            throw .refused(
                "masakari refused the notification for \(node) (400): \(message); add \(node) as a host of a failover segment (`openstack segment host create`) under exactly its Nova name")
        case 403:
            let message = response.faultMessage(redacting: await self.client.secrets())
            throw .unauthorized(
                "masakari forbids creating notifications (403): \(message); give Vigil's Keystone user the admin role (policy os_masakari_api:notifications:create)")
        case 500...:
            let message = response.faultMessage(redacting: await self.client.secrets())
            throw .failed("masakari failed on the notification for \(node) (\(response.status)): \(message); will be retried")
        default:
            let message = response.faultMessage(redacting: await self.client.secrets())
            throw .refused("masakari refused the notification for \(node) (\(response.status)): \(message)")
        }
    }

    private struct NotificationAnswer: Decodable {
        struct Notification: Decodable {
            var notificationUUID: String
            enum CodingKeys: String, CodingKey { case notificationUUID = "notification_uuid" }
        }
        var notification: Notification
    }
}
