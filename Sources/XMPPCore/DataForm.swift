import XMLStream

/// A data form (XEP-0004): the typed value behind `<x xmlns='jabber:x:data'/>`,
/// used for room configuration, search queries and disco extensions.
public struct DataForm: Sendable, Hashable {
    /// XEP-0004 §3.1: form types.
    public enum Kind: String, Sendable, Hashable {
        case form, submit, cancel, result
    }

    /// XEP-0004 §3.3: field types.
    public enum FieldType: String, Sendable, Hashable {
        case boolean, fixed, hidden
        case jidMulti = "jid-multi"
        case jidSingle = "jid-single"
        case listMulti = "list-multi"
        case listSingle = "list-single"
        case textMulti = "text-multi"
        case textPrivate = "text-private"
        case textSingle = "text-single"
    }

    /// One `<option/>` of a list field.
    public struct Option: Sendable, Hashable {
        public var label: String?
        public var value: String

        public init(label: String? = nil, value: String) {
            self.label = label
            self.value = value
        }
    }

    /// One `<field/>`.
    public struct Field: Sendable, Hashable {
        public var variable: String?
        public var type: FieldType?
        public var label: String?
        public var description: String?
        public var isRequired: Bool
        public var values: [String]
        public var options: [Option]

        public init(
            _ variable: String?, type: FieldType? = nil, label: String? = nil, description: String? = nil,
            isRequired: Bool = false, values: [String] = [], options: [Option] = []
        ) {
            self.variable = variable
            self.type = type
            self.label = label
            self.description = description
            self.isRequired = isRequired
            self.values = values
            self.options = options
        }

        public var value: String? { values.first }

        /// XEP-0004 §3.3: a boolean is "1"/"true" or "0"/"false"; anything else is not a boolean.
        public var booleanValue: Bool? {
            switch values.first {
            case "1", "true": true
            case "0", "false": false
            default: nil
            }
        }
    }

    public var type: Kind
    public var title: String?
    public var instructions: [String]
    public var fields: [Field]
    /// Table headings and rows of a multi-item result (XEP-0004 §3.4).
    public var reported: [Field]?
    public var items: [[Field]]

    public init(
        type: Kind, title: String? = nil, instructions: [String] = [], fields: [Field] = [],
        reported: [Field]? = nil, items: [[Field]] = []
    ) {
        self.type = type
        self.title = title
        self.instructions = instructions
        self.fields = fields
        self.reported = reported
        self.items = items
    }

    /// The `FORM_TYPE` hidden field (XEP-0068), which names what the form is for.
    public var formType: String? {
        field("FORM_TYPE")?.value
    }

    public func field(_ variable: String) -> Field? {
        fields.first { $0.variable == variable }
    }

    // MARK: - Parsing

    public struct ParseError: Error, Sendable, Hashable, CustomStringConvertible {
        public let description: String
    }

    public init(element: XMLElement) throws(ParseError) {
        guard element.name == "x", element.namespace == Namespace.dataForms else {
            throw ParseError(description: "not a data form")
        }
        guard let rawType = element[attribute: "type"], let type = Kind(rawValue: rawType) else {
            throw ParseError(description: "a data form needs a type of form, submit, cancel or result")
        }
        var fields: [Field] = []
        var reported: [Field]? = nil
        var items: [[Field]] = []
        var instructions: [String] = []
        var title: String? = nil
        for child in element.elements where child.namespace == Namespace.dataForms {
            switch child.name {
            case "title": title = child.text
            case "instructions": instructions.append(child.text)
            case "field": fields.append(try Self.parseField(child))
            case "reported":
                reported = try child.children("field", namespace: Namespace.dataForms).map(Self.parseField)
            case "item":
                items.append(try child.children("field", namespace: Namespace.dataForms).map(Self.parseField))
            default: continue
            }
        }
        self.init(
            type: type, title: title, instructions: instructions, fields: fields, reported: reported, items: items)
    }

    private static func parseField(_ element: XMLElement) throws(ParseError) -> Field {
        var fieldType: FieldType? = nil
        if let raw = element[attribute: "type"] {
            guard let known = FieldType(rawValue: raw) else {
                throw ParseError(description: "unknown field type '\(raw)'")
            }
            fieldType = known
        }
        let variable = element[attribute: "var"]
        if variable == nil && fieldType != .fixed {
            throw ParseError(description: "a field other than 'fixed' needs a var")
        }
        let namespace = Namespace.dataForms
        return Field(
            variable, type: fieldType, label: element[attribute: "label"],
            description: element.child("desc", namespace: namespace)?.text,
            isRequired: element.child("required", namespace: namespace) != nil,
            values: element.children("value", namespace: namespace).map(\.text),
            options: element.children("option", namespace: namespace).map { option in
                Option(label: option[attribute: "label"], value: option.child("value", namespace: namespace)?.text ?? "")
            })
    }

    // MARK: - Encoding

    public var element: XMLElement {
        let namespace = Namespace.dataForms
        var form = XMLElement("x", namespace: namespace, attributes: ["type": type.rawValue])
        if let title { form.append(XMLElement("title", namespace: namespace, text: title)) }
        for line in instructions { form.append(XMLElement("instructions", namespace: namespace, text: line)) }
        if let reported {
            form.append(XMLElement("reported", namespace: namespace, children: reported.map { .element(Self.encode($0)) }))
        }
        for item in items {
            form.append(XMLElement("item", namespace: namespace, children: item.map { .element(Self.encode($0)) }))
        }
        for field in fields { form.append(Self.encode(field)) }
        return form
    }

    private static func encode(_ field: Field) -> XMLElement {
        let namespace = Namespace.dataForms
        var element = XMLElement(
            "field", namespace: namespace,
            attributes: ["var": field.variable, "type": field.type?.rawValue, "label": field.label])
        if let description = field.description { element.append(XMLElement("desc", namespace: namespace, text: description)) }
        if field.isRequired { element.append(XMLElement("required", namespace: namespace)) }
        for value in field.values { element.append(XMLElement("value", namespace: namespace, text: value)) }
        for option in field.options {
            element.append(XMLElement(
                "option", namespace: namespace, attributes: ["label": option.label],
                children: [.element(XMLElement("value", namespace: namespace, text: option.value))]))
        }
        return element
    }
}
