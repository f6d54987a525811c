/// How Vigil proves who it is to Keystone v3. Secrets are never in the configuration
/// itself, only the path of a file holding them (read at every authentication, so a
/// rotated secret is picked up without a restart; a trailing newline is ignored).
public enum OpenStackCredentials: Sendable, Equatable {
    /// The `password` method, scoped to a project.
    /// - Parameters:
    ///   - user: user name (`openstack user show`).
    ///   - userDomain: the user's domain *name* (`Default` in most clouds).
    ///   - project: project name to scope the token to (the service project, usually `service`).
    ///   - projectDomain: the project's domain name.
    ///   - passwordFile: file holding the password (mode 0600, owned by Vigil's user).
    case password(user: String, userDomain: String, project: String, projectDomain: String, passwordFile: String)
    /// The `application_credential` method: the credential carries its own project
    /// and roles, so no scope is sent.
    /// - Parameters:
    ///   - id: the application credential's id (not its name).
    ///   - secretFile: file holding its secret.
    case applicationCredential(id: String, secretFile: String)

    /// The file the secret is read from.
    var secretFile: String {
        switch self {
        case .password(_, _, _, _, let file): file
        case .applicationCredential(_, let file): file
        }
    }

    /// Who is authenticating, for error messages (never the secret).
    var principal: String {
        switch self {
        case .password(let user, let userDomain, let project, let projectDomain, _):
            "user `\(user)` (domain `\(userDomain)`) in project `\(project)` (domain `\(projectDomain)`)"
        case .applicationCredential(let id, _):
            "application credential `\(id)`"
        }
    }
}
