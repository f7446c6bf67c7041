import Testing
import XMLStream
import XMPPCore

@Suite("Data forms (XEP-0004) and result sets (XEP-0059)")
struct DataFormTests {
    @Test("a form with every field type survives a round trip")
    func formRoundTrip() throws {
        let form = DataForm(
            type: .form, title: "Room configuration", instructions: ["Fill this in."],
            fields: [
                .init("FORM_TYPE", type: .hidden, values: ["http://jabber.org/protocol/muc#roomconfig"]),
                .init("muc#roomconfig_roomname", type: .textSingle, label: "Name", values: ["Lobby"]),
                .init("muc#roomconfig_persistentroom", type: .boolean, values: ["1"]),
                .init("muc#roomconfig_whois", type: .listSingle, isRequired: true, values: ["moderators"],
                      options: [.init(label: "Moderators", value: "moderators"), .init(label: "Anyone", value: "anyone")]),
                .init("muc#roomconfig_roomadmins", type: .jidMulti, values: ["a@b", "c@d"]),
                .init(nil, type: .fixed, values: ["A note"]),
                .init("muc#roomconfig_roomdesc", type: .textMulti, description: "What it is for", values: ["line 1", "line 2"]),
            ])
        let parsed = try DataForm(element: form.element)
        #expect(parsed == form)
        #expect(parsed.formType == "http://jabber.org/protocol/muc#roomconfig")
        #expect(parsed.field("muc#roomconfig_persistentroom")?.booleanValue == true)
    }

    @Test("a result with reported fields and items survives a round trip")
    func resultRoundTrip() throws {
        let form = DataForm(
            type: .result, reported: [.init("nick", label: "Nick")],
            items: [[.init("nick", values: ["a"])], [.init("nick", values: ["b"])]])
        #expect(try DataForm(element: form.element) == form)
    }

    @Test("booleans accept 1/true/0/false only")
    func booleans() {
        #expect(DataForm.Field("f", values: ["true"]).booleanValue == true)
        #expect(DataForm.Field("f", values: ["0"]).booleanValue == false)
        #expect(DataForm.Field("f", values: ["yes"]).booleanValue == nil)
    }

    @Test("bad forms are rejected with a reason")
    func badForms() {
        #expect(throws: DataForm.ParseError.self) {
            try DataForm(element: XMLElement("x", namespace: Namespace.dataForms))
        }
        #expect(throws: DataForm.ParseError.self) {
            try DataForm(element: XMLElement("x", namespace: Namespace.dataForms, attributes: ["type": "submit"],
                children: [.element(XMLElement("field", namespace: Namespace.dataForms, attributes: ["var": "a", "type": "colour"]))]))
        }
        #expect(throws: DataForm.ParseError.self) {
            try DataForm(element: XMLElement("x", namespace: Namespace.dataForms, attributes: ["type": "submit"],
                children: [.element(XMLElement("field", namespace: Namespace.dataForms))]))
        }
    }

    @Test("RSM requests: max, after, before, last page, index")
    func rsmRequests() throws {
        for request in [
            RSMRequest(max: 10), RSMRequest(max: 5, anchor: .after("id-1")), RSMRequest(anchor: .before("id-9")),
            RSMRequest(max: 20, anchor: .lastPage), RSMRequest(max: 3, index: 7),
        ] {
            #expect(try RSMRequest(element: request.element) == request)
        }
    }

    @Test("RSM requests with bad values are rejected")
    func rsmBad() {
        let namespace = Namespace.rsm
        for children in [
            [XMLElement("max", namespace: namespace, text: "-1")],
            [XMLElement("max", namespace: namespace, text: "ten")],
            [XMLElement("after", namespace: namespace, text: "a"), XMLElement("before", namespace: namespace, text: "b")],
            [XMLElement("after", namespace: namespace)],
        ] {
            #expect(throws: RSMRequest.ParseError.self) {
                try RSMRequest(element: XMLElement("set", namespace: namespace, children: children.map { .element($0) }))
            }
        }
    }

    @Test("RSM results round-trip")
    func rsmResults() {
        let result = RSMResult(first: "a", firstIndex: 0, last: "z", count: 26)
        #expect(RSMResult(element: result.element) == result)
    }

    @Test("disco#info lists each feature once")
    func discoInfo() {
        let info = DiscoInfo(identities: [DiscoIdentity(category: "conference", type: "text", name: "Rooms")],
                             features: ["a", "b", "a"])
        #expect(info.element.children("feature", namespace: Namespace.discoInfo).count == 2)
    }

    @Test("XEP-0082 times: parsed with offsets and fractions, printed to the millisecond, round trip")
    func dateTimes() {
        #expect(DateTime.parse("2023-11-14T22:13:20Z") == 1_700_000_000)
        #expect(DateTime.parse("2023-11-14T23:13:20+01:00") == 1_700_000_000)
        #expect(DateTime.parse("2023-11-14T22:13:20.5Z") == 1_700_000_000.5)
        #expect(DateTime.parse("2023-11-14 22:13:20Z") == nil)
        #expect(DateTime.parse("yesterday") == nil)
        #expect(DateTime.format(1_700_000_000) == "2023-11-14T22:13:20.000Z")
        #expect(DateTime.format(1_764_081_632.385) == "2025-11-25T14:40:32.385Z", "binary rounding does not lose a millisecond")
        #expect(DateTime.format(-1) == "1969-12-31T23:59:59.000Z")
        for stamp in [1_764_081_632.385, 0.001, 1_700_000_000.999] {
            let text = DateTime.format(DateTime.milliseconds(stamp))
            #expect(abs((DateTime.parse(text) ?? 0) - DateTime.milliseconds(stamp)) < 0.0001)
        }
    }
}
