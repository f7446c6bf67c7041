import XMLStream
import XMPPCore

/// The room's entry point: routes a stanza to the feature that owns it, by
/// kind, by whether it is for the room or one occupant, and by namespace.
extension Room {
    public mutating func handle(_ stanza: Stanza, context: RoomContext) -> RoomEffects {
        var effects = RoomEffects()
        if let violation = limitViolation(stanza, limits: context.limits) {
            effects.refusedBy = .roomLimits
            if stanza.acceptsErrorReply { effects.send(violation.reply(to: stanza.element)) }
            return effects
        }
        if let (action, violation) = rateViolation(stanza, context: context) {
            effects.refusedBy = .rate(action)
            if stanza.acceptsErrorReply { effects.send(violation.reply(to: stanza.element)) }
            return effects
        }
        switch stanza {
        case .presence(let presence):
            handlePresence(presence, context: context, effects: &effects)
        case .message(let message):
            handleMessage(message, context: context, effects: &effects)
        case .iq(let iq):
            handleIQ(iq, context: context, effects: &effects)
        }
        return effects
    }

    private mutating func handlePresence(_ presence: Presence, context: RoomContext, effects: inout RoomEffects) {
        if presence.type == .error {
            removeGhost(presence.from, error: StanzaError(errorStanza: presence.element), context: context, effects: &effects)
            return
        }
        guard let nick = presence.to.resourcepart ?? occupant(session: presence.from)?.nick else {
            // XEP-0045 §7.2.1: entering needs a nick. Presence to the bare room JID from an
            // occupant (aioxmpp leaves that way) is applied to its occupant, as Prosody does.
            if presence.type == .available {
                effects.send(StanzaError(.jidMalformed, text: "a nick is required: send presence to room@service/nick")
                    .reply(to: presence.element))
            }
            return
        }
        switch presence.type {
        case .available:
            if let index = index(ofSession: presence.from) {
                if occupants[index].nick == nick {
                    if presence.element.child("x", namespace: MUCNamespace.muc) != nil {
                        // §7.2.1: a client that joins again (after losing track) gets the room state again.
                        resendState(to: presence, occupantIndex: index, context: context, effects: &effects)
                        return
                    }
                    updatePresence(presence, occupantIndex: index, context: context, effects: &effects)
                } else {
                    changeNick(presence, occupantIndex: index, newNick: nick, context: context, effects: &effects)
                }
            } else {
                enter(presence, nick: nick, context: context, effects: &effects)
            }
        case .unavailable:
            exit(presence, context: context, effects: &effects)
        case .probe:
            answerProbe(presence, nick: nick, context: context, effects: &effects)
        default:
            // Subscriptions mean nothing to a room.
            return
        }
    }

    private mutating func handleMessage(_ message: Message, context: RoomContext, effects: inout RoomEffects) {
        if message.type == .error {
            removeGhost(message.from, error: StanzaError(errorStanza: message.element), context: context, effects: &effects)
            return
        }
        if let nick = message.to.resourcepart {
            guard message.type != .groupchat else {
                // XEP-0045 §7.5: groupchat goes to the room, never to one occupant.
                effects.send(StanzaError(.badRequest, text: "send groupchat messages to the room JID").reply(to: message.element))
                return
            }
            sendPrivateMessage(message, to: nick, context: context, effects: &effects)
            return
        }
        if message.type == .groupchat {
            if message.subject != nil && message.body == nil {
                changeSubject(message, context: context, effects: &effects)
            } else {
                broadcastGroupchat(message, context: context, effects: &effects)
            }
            return
        }
        let user = message.element.child("x", namespace: MUCNamespace.user)
        if let user, user.child("invite", namespace: MUCNamespace.user) != nil {
            invite(message, user: user, context: context, effects: &effects)
        } else if let user, user.child("decline", namespace: MUCNamespace.user) != nil {
            decline(message, user: user, effects: &effects)
        } else if let form = message.element.child("x", namespace: Namespace.dataForms),
                  let parsed = try? DataForm(element: form), parsed.formType == MUCNamespace.request {
            handleVoiceRequestForm(message, form: parsed, context: context, effects: &effects)
        } else {
            effects.send(StanzaError(.badRequest, text: "send groupchat messages, invitations or voice requests to the room")
                .reply(to: message.element))
        }
    }

    private mutating func handleIQ(_ iq: IQ, context: RoomContext, effects: inout RoomEffects) {
        guard iq.isRequest else {
            // An answer to a relayed query (even an error) is passed on, and is no sign of a ghost.
            if relayAnswer(iq, effects: &effects) { return }
            if iq.type == .error {
                removeGhost(iq.from, error: StanzaError(errorStanza: iq.element), context: context, effects: &effects)
            }
            return
        }
        guard let payload = iq.payload else {
            effects.send(iq.error(StanzaError(.badRequest)))
            return
        }
        do throws(StanzaError) {
            let result: XMLElement?
            if let nick = iq.to.resourcepart {
                if try relayQuery(iq, toNick: nick, payload: payload, context: context, effects: &effects) { return }
                result = nil  // the sender's own self-ping
            } else {
                switch (iq.type, payload.namespace) {
                case (.get, Namespace.discoInfo): result = try discoInfo(iq, payload: payload, context: context)
                case (.get, Namespace.discoItems): result = discoItems(iq)
                case (.get, Namespace.ping): result = nil
                case (.set, MUCNamespace.moderate1), (.set, MUCNamespace.fasten):
                    try moderate(iq, payload: payload, context: context, effects: &effects)
                    return
                case (_, MucSubNode.namespace):
                    result = try handleMucSub(iq, payload: payload, context: context, effects: &effects)
                case (.set, Self.inboxNamespace):
                    guard payload.name == "reset" else { throw StanzaError(.badRequest, text: "expected <reset/>") }
                    effects.outputs.append(.readAll(user: iq.from.bare))
                    result = nil
                case (_, Namespace.mam):
                    // The archive's owner answers, after the room said who may read.
                    _ = try archiveRequest(iq, payload: payload, context: context, effects: &effects)
                    return
                case (.get, MUCNamespace.admin): result = try adminList(iq, payload: payload, context: context)
                case (.set, MUCNamespace.admin):
                    let notices = try adminChange(iq, payload: payload, context: context, effects: &effects)
                    effects.outputs.insert(contentsOf: notices + [.stanza(iq.result())], at: 0)
                    return
                case (.get, MUCNamespace.owner): result = try configurationForm(iq, context: context)
                case (.set, MUCNamespace.owner):
                    result = try ownerRequest(iq, payload: payload, context: context, effects: &effects)
                case (.get, MUCNamespace.inBandRegister): result = try registrationForm(iq)
                case (.set, MUCNamespace.inBandRegister):
                    result = try register(iq, payload: payload, context: context, effects: &effects)
                default:
                    throw StanzaError(.serviceUnavailable)
                }
            }
            effects.outputs.insert(.stanza(iq.result(result)), at: 0)
        } catch {
            effects.send(iq.error(error))
        }
    }

    /// Parley's inbox namespace, for the explicit reset of a read position (Docs/protocol.md).
    public static let inboxNamespace = "urn:parley:inbox:0"
}
