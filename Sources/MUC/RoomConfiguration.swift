import XMPPCore

/// A room's configuration (XEP-0045 §10.2, `muc#roomconfig`), with the
/// defaults a new room gets.
public struct RoomConfiguration: Sendable, Hashable, Codable {
    /// Who may see occupants' real JIDs (`muc#roomconfig_whois`).
    public enum Whois: String, Sendable, Hashable, Codable {
        case moderators, anyone
    }

    /// Who may send private messages (`muc#roomconfig_allowpm`).
    public enum PrivateMessages: String, Sendable, Hashable, Codable {
        case anyone, participants, moderators, none
    }

    public var name: String = ""
    public var description: String = ""
    public var language: String = ""
    /// Persistent chat is the product: rooms outlive their last occupant unless made temporary.
    public var isPersistent = true
    public var isPublic = true
    public var isMembersOnly = false
    public var isModerated = false
    /// Nil when the room has no password.
    public var password: String?
    public var whois = Whois.moderators
    /// Nil for no limit.
    public var maxUsers: Int?
    public var occupantsMayChangeSubject = false
    public var occupantsMayInvite = true
    public var privateMessages = PrivateMessages.anyone
    /// Roles whose presence is broadcast (`muc#roomconfig_presencebroadcast`).
    public var presenceBroadcast: Set<Role> = [.moderator, .participant, .visitor]
    public var isArchived = true
    /// How many messages a joining occupant gets by default (`muc#maxhistoryfetch`).
    public var historyLength = 20
    /// Days archived messages are kept (Parley's own field): nil follows the
    /// service's default (`archive.retention_days`), 0 keeps them forever.
    public var retentionDays: Int?
    /// Whether the owner publishes the archive on the web (`parley#roomconfig_weblogs`);
    /// nil in rooms saved before web logs existed, which do not publish.
    public var webLogs: Bool?
    /// A service admin took the room off the web (the `parley:admin#weblogs` command): its
    /// owners cannot turn web logs on until an admin allows them again.
    public var webLogsHidden: Bool?

    public init() {}

    /// Web logs are for rooms anyone may enter: listed, not members-only, no password.
    public var allowsWebLogs: Bool { isPublic && !isMembersOnly && password == nil }

    /// Whether the room's archive is on the web now (a service admin may still hide it).
    public var publishesWebLogs: Bool { webLogs == true && allowsWebLogs && webLogsHidden != true }

    public var isNonAnonymous: Bool { whois == .anyone }

    /// XEP-0045 §10.1.3: whether a role may see real JIDs in this room.
    public func revealsJIDs(to role: Role) -> Bool {
        whois == .anyone || role == .moderator
    }
}

// MARK: - The configuration form (XEP-0045 §10.2, §15.5.3)

extension RoomConfiguration {
    enum Field {
        static let name = "muc#roomconfig_roomname"
        static let description = "muc#roomconfig_roomdesc"
        static let language = "muc#roomconfig_lang"
        static let persistent = "muc#roomconfig_persistentroom"
        static let `public` = "muc#roomconfig_publicroom"
        static let membersOnly = "muc#roomconfig_membersonly"
        static let moderated = "muc#roomconfig_moderatedroom"
        static let passwordProtected = "muc#roomconfig_passwordprotectedroom"
        static let secret = "muc#roomconfig_roomsecret"
        static let whois = "muc#roomconfig_whois"
        static let maxUsers = "muc#roomconfig_maxusers"
        static let changeSubject = "muc#roomconfig_changesubject"
        static let allowInvites = "muc#roomconfig_allowinvites"
        static let allowPM = "muc#roomconfig_allowpm"
        static let presenceBroadcast = "muc#roomconfig_presencebroadcast"
        static let logging = "muc#roomconfig_enablelogging"
        static let archiving = "muc#roomconfig_enablearchiving"
        static let historyLength = "muc#maxhistoryfetch"
        static let admins = "muc#roomconfig_roomadmins"
        static let owners = "muc#roomconfig_roomowners"
        static let retention = "parley#roomconfig_retention_days"
        static let webLogs = "parley#roomconfig_weblogs"
    }

    static let maxUsersOptions = ["10", "20", "30", "50", "100", "500", "none"]

    /// The form an owner is sent to fill in, showing the current values.
    public func form(admins: [JID], owners: [JID]) -> DataForm {
        typealias F = DataForm.Field
        func bool(_ value: Bool) -> [String] { [value ? "1" : "0"] }
        return DataForm(
            type: .form, title: "Room configuration",
            instructions: ["Complete this form to configure the room."],
            fields: [
                F("FORM_TYPE", type: .hidden, values: [MUCNamespace.roomConfig]),
                F(Field.name, type: .textSingle, label: "Name", values: [name]),
                F(Field.description, type: .textSingle, label: "Description", values: [description]),
                F(Field.language, type: .textSingle, label: "Language", values: [language]),
                F(Field.persistent, type: .boolean, label: "Keep the room when the last occupant leaves", values: bool(isPersistent)),
                F(Field.public, type: .boolean, label: "List the room in the directory", values: bool(isPublic)),
                F(Field.membersOnly, type: .boolean, label: "Only members may enter", values: bool(isMembersOnly)),
                F(Field.moderated, type: .boolean, label: "Only participants with voice may speak", values: bool(isModerated)),
                F(Field.passwordProtected, type: .boolean, label: "A password is required to enter", values: bool(password != nil)),
                F(Field.secret, type: .textPrivate, label: "Password", values: password.map { [$0] } ?? []),
                F(Field.whois, type: .listSingle, label: "Who may see real JIDs", values: [whois.rawValue],
                  options: [.init(label: "Moderators only", value: "moderators"), .init(label: "Anyone", value: "anyone")]),
                F(Field.maxUsers, type: .listSingle, label: "Maximum number of occupants",
                  values: [maxUsers.map(String.init) ?? "none"],
                  options: Self.maxUsersOptions.map { .init(label: $0, value: $0) }),
                F(Field.changeSubject, type: .boolean, label: "Occupants may change the subject", values: bool(occupantsMayChangeSubject)),
                F(Field.allowInvites, type: .boolean, label: "Occupants may invite others", values: bool(occupantsMayInvite)),
                F(Field.allowPM, type: .listSingle, label: "Who may send private messages", values: [privateMessages.rawValue],
                  options: [.init(label: "Anyone", value: "anyone"), .init(label: "Participants", value: "participants"),
                            .init(label: "Moderators", value: "moderators"), .init(label: "Nobody", value: "none")]),
                F(Field.presenceBroadcast, type: .listMulti, label: "Roles whose presence is broadcast",
                  values: [Role.moderator, .participant, .visitor].filter(presenceBroadcast.contains).map(\.rawValue),
                  options: [.init(label: "Moderator", value: "moderator"), .init(label: "Participant", value: "participant"),
                            .init(label: "Visitor", value: "visitor")]),
                F(Field.logging, type: .boolean, label: "Archive the room's messages", values: bool(isArchived)),
                F(Field.historyLength, type: .textSingle, label: "Messages sent to a joining occupant", values: [String(historyLength)]),
                F(Field.retention, type: .textSingle,
                  label: "Days to keep archived messages (0 = forever, empty = the service's default)",
                  values: retentionDays.map { [String($0)] } ?? []),
                F(Field.webLogs, type: .boolean,
                  label: "Publish the archive on the web (public rooms without members-only or a password)",
                  values: bool(webLogs == true)),
                F(Field.admins, type: .jidMulti, label: "Room admins", values: admins.map(\.description)),
                F(Field.owners, type: .jidMulti, label: "Room owners", values: owners.map(\.description)),
            ])
    }

    /// What a submitted form asks for: the new configuration and any admin/owner lists it sets.
    public struct Submission: Sendable {
        public var configuration: RoomConfiguration
        public var admins: [JID]?
        public var owners: [JID]?
    }

    /// Applies a submitted form on top of this configuration. Fields that are
    /// absent keep their value; a field with a bad value is `not-acceptable`
    /// naming the field (XEP-0045 §10.2).
    public func applying(_ form: DataForm) throws(StanzaError) -> Submission {
        if let formType = form.formType, formType != MUCNamespace.roomConfig {
            throw StanzaError(.badRequest, text: "FORM_TYPE must be \(MUCNamespace.roomConfig)")
        }
        var new = self
        var admins: [JID]? = nil
        var owners: [JID]? = nil
        var passwordProtected: Bool? = nil
        var webLogsAsked: Bool? = nil
        for field in form.fields {
            guard let variable = field.variable else { continue }
            func boolean() throws(StanzaError) -> Bool {
                guard let value = field.booleanValue else {
                    throw StanzaError(.notAcceptable, text: "\(variable) must be a boolean")
                }
                return value
            }
            func integer(_ range: ClosedRange<Int>) throws(StanzaError) -> Int {
                guard let raw = field.value, let value = Int(raw), range.contains(value) else {
                    throw StanzaError(.notAcceptable, text: "\(variable) must be a number in \(range.lowerBound)...\(range.upperBound)")
                }
                return value
            }
            func jids() throws(StanzaError) -> [JID] {
                var result: [JID] = []
                for value in field.values where !value.isEmpty {
                    guard let jid = try? JID(value) else {
                        throw StanzaError(.notAcceptable, text: "\(variable): '\(value)' is not a JID")
                    }
                    result.append(jid.bare)
                }
                return result
            }
            switch variable {
            case "FORM_TYPE": continue
            case Field.name: new.name = field.value ?? ""
            case Field.description: new.description = field.values.joined(separator: "\n")
            case Field.language: new.language = field.value ?? ""
            case Field.persistent: new.isPersistent = try boolean()
            case Field.public: new.isPublic = try boolean()
            case Field.membersOnly: new.isMembersOnly = try boolean()
            case Field.moderated: new.isModerated = try boolean()
            case Field.passwordProtected: passwordProtected = try boolean()
            case Field.secret:
                let value = field.value ?? ""
                new.password = value.isEmpty ? nil : value
            case Field.whois:
                guard let value = field.value.flatMap(Whois.init(rawValue:)) else {
                    throw StanzaError(.notAcceptable, text: "\(variable) must be moderators or anyone")
                }
                new.whois = value
            case Field.maxUsers:
                if field.value == nil || field.value == "none" || field.value == "0" || field.value == "" {
                    new.maxUsers = nil
                } else {
                    new.maxUsers = try integer(1...100_000)
                }
            case Field.changeSubject: new.occupantsMayChangeSubject = try boolean()
            case Field.allowInvites: new.occupantsMayInvite = try boolean()
            case Field.allowPM:
                guard let value = field.value.flatMap(PrivateMessages.init(rawValue:)) else {
                    throw StanzaError(.notAcceptable, text: "\(variable) must be anyone, participants, moderators or none")
                }
                new.privateMessages = value
            case Field.presenceBroadcast:
                var roles: Set<Role> = []
                for value in field.values {
                    guard let role = Role(rawValue: value), role != .none else {
                        throw StanzaError(.notAcceptable, text: "\(variable): '\(value)' is not a role")
                    }
                    roles.insert(role)
                }
                new.presenceBroadcast = roles
            case Field.logging, Field.archiving: new.isArchived = try boolean()
            case Field.historyLength: new.historyLength = try integer(0...1000)
            case Field.retention:
                if (field.value ?? "").isEmpty {
                    new.retentionDays = nil
                } else {
                    new.retentionDays = try integer(0...36500)
                }
            case Field.webLogs: webLogsAsked = try boolean()
            case Field.admins: admins = try jids()
            case Field.owners: owners = try jids()
            default:
                // Unknown fields are ignored, as XEP-0004 §3.2 lets a form processor do.
                continue
            }
        }
        if passwordProtected == false {
            new.password = nil
        } else if passwordProtected == true && new.password == nil {
            throw StanzaError(.notAcceptable, text: "a password-protected room needs \(Field.secret)")
        }
        if let asked = webLogsAsked {
            // Turning logs on needs a room anyone may enter; a form that only repeats an
            // earlier "on" while making the room private is accepted and turns them off below.
            if asked && webLogs != true && !new.allowsWebLogs {
                throw StanzaError(
                    .notAcceptable,
                    text: "\(Field.webLogs): web logs need a public room that is neither members-only nor password-protected")
            }
            new.webLogs = asked
        }
        // A room that becomes private stops being served at once, and turning it public
        // again does not republish what its members said in private meanwhile.
        if !new.allowsWebLogs && new.webLogs == true { new.webLogs = false }
        return Submission(configuration: new, admins: admins, owners: owners)
    }
}
