import XMLStream
import XMPPCore

/// XEP-0045 §6.4 and XEP-0128: what disco#info says about a room — the
/// features that describe its configuration and the `muc#roominfo` form — and
/// §6.5 disco#items (occupants, shown only to occupants). Also §7.12, reserved-nick discovery.
extension Room {
    func discoInfo(_ iq: IQ, payload: XMLElement, context: RoomContext) throws(StanzaError) -> XMLElement {
        if let node = payload[attribute: "node"] {
            guard node == "x-roomuser-item" else { throw StanzaError(.itemNotFound, text: "no such node: \(node)") }
            // §7.12: the requester's registered nick, if any.
            var query = XMLElement("query", namespace: Namespace.discoInfo, attributes: ["node": node])
            if let nick = registeredNicks[iq.from.bare] {
                query.append(XMLElement(
                    "identity", namespace: Namespace.discoInfo,
                    attributes: ["category": "conference", "type": "text", "name": nick]))
            }
            return query
        }
        var info = self.info
        // XEP-0045 §15.5.4: where the room's discussion logs are, when they are on the web.
        if let logs = context.webLogs.url(of: jid, configuration), !info.extensions.isEmpty {
            info.extensions[0].fields.append(DataForm.Field("muc#roominfo_logs", label: "Discussion logs", values: [logs]))
        }
        if affiliation(of: iq.from) == .outcast {
            // An outcast learns nothing about who runs the room.
            info.extensions = info.extensions.map { form in
                var form = form
                form.fields.removeAll { $0.variable == Self.contactsField }
                return form
            }
        }
        return info.element
    }

    static let contactsField = "muc#roominfo_contactjid"

    /// The room's disco#info (also what the service lists when asked about a room).
    public var info: DiscoInfo {
        let config = configuration
        var features = [
            MUCNamespace.muc, Namespace.discoInfo, Namespace.discoItems, Namespace.ping,
            MUCNamespace.stableID, MUCNamespace.selfPingOptimization, MUCNamespace.occupantID,
            MUCNamespace.inBandRegister, MucSubNode.namespace,
            config.isPublic ? "muc_public" : "muc_hidden",
            config.isPersistent ? "muc_persistent" : "muc_temporary",
            config.isMembersOnly ? "muc_membersonly" : "muc_open",
            config.isModerated ? "muc_moderated" : "muc_unmoderated",
            config.password != nil ? "muc_passwordprotected" : "muc_unsecured",
            config.isNonAnonymous ? "muc_nonanonymous" : "muc_semianonymous",
        ]
        if isLocked { features.append("muc_unconfigured") }
        if config.isArchived {
            features += [Namespace.mam, Namespace.mamExtended, Namespace.fulltext, MUCNamespace.moderate0, MUCNamespace.moderate1]
        }
        typealias F = DataForm.Field
        var fields = [
            F("FORM_TYPE", type: .hidden, values: [MUCNamespace.roomInfo]),
            F("muc#roominfo_description", label: "Description", values: [config.description]),
            F("muc#roominfo_occupants", label: "Number of occupants", values: [String(occupants.count)]),
            F("muc#roominfo_subject", label: "Subject", values: [subject?.text ?? ""]),
            F("muc#roominfo_subjectmod", type: .boolean, label: "Occupants may change the subject",
              values: [config.occupantsMayChangeSubject ? "1" : "0"]),
            F("muc#roomconfig_roomname", label: "Name", values: [config.name]),
            F("muc#roomconfig_changesubject", type: .boolean, values: [config.occupantsMayChangeSubject ? "1" : "0"]),
            F("muc#roomconfig_allowinvites", type: .boolean, values: [config.occupantsMayInvite ? "1" : "0"]),
            F("muc#roomconfig_allowpm", values: [config.privateMessages.rawValue]),
            F("muc#roomconfig_whois", values: [config.whois.rawValue]),
            F("muc#maxhistoryfetch", values: [String(config.historyLength)]),
        ]
        if !config.language.isEmpty {
            fields.append(F("muc#roominfo_lang", label: "Language", values: [config.language]))
        }
        // Real JIDs, so only where the room shows real JIDs to everyone anyway.
        let contacts = owners + admins
        if !contacts.isEmpty && config.isNonAnonymous {
            fields.append(F(Self.contactsField, type: .jidMulti, label: "Contacts", values: contacts.map(\.description)))
        }
        return DiscoInfo(
            identities: [DiscoIdentity(category: "conference", type: "text", name: config.name.isEmpty ? jid.localpart : config.name)],
            features: features,
            extensions: [DataForm(type: .result, fields: fields)])
    }

    func discoItems(_ iq: IQ) -> XMLElement {
        var query = XMLElement("query", namespace: Namespace.discoItems)
        // §6.5: occupants are listed only to occupants, so that nobody outside learns who is there.
        guard occupant(session: iq.from) != nil else { return query }
        for occupant in occupants {
            query.append(DiscoItem(jid: occupantJID(occupant.nick)).element)
        }
        return query
    }
}
