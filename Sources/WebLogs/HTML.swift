import Storage

/// Text made safe for HTML: every string a user wrote passes through here before it
/// reaches a page, and only here is markup (links, highlights) put around it. Works on
/// UTF-8 bytes: a day page escapes thousands of bodies, and the characters that matter
/// (`& < > " '`, URL schemes, ASCII spaces) are all ASCII.
public struct HTML {
    public private(set) var bytes: [UInt8] = []

    public init(capacity: Int = 0) {
        bytes.reserveCapacity(capacity)
    }

    public var text: String { String(decoding: bytes, as: UTF8.self) }

    /// Markup written by Parley itself, never user text.
    public mutating func markup(_ literal: StaticString) {
        literal.withUTF8Buffer { bytes.append(contentsOf: $0) }
    }

    /// Markup around values Parley produced (times, numbers); user text goes through `escaped`.
    public mutating func trusted(_ text: String) {
        bytes.append(contentsOf: text.utf8)
    }

    /// A number with at least `count` digits (leading zeros), for times and dates.
    public mutating func digits(_ value: Int, _ count: Int) {
        var value = max(0, value)
        var reversed: [UInt8] = []
        repeat {
            reversed.append(UInt8(ascii: "0") + UInt8(value % 10))
            value /= 10
        } while value > 0 || reversed.count < count
        bytes.append(contentsOf: reversed.reversed())
    }

    /// `2026-12-05T14:03:09Z` (for `datetime`) and then, after `between`, `14:03`.
    public mutating func clock(_ time: Double, between: StaticString) {
        let day = WebLogDay(containing: time)
        let date = UTCDate(day)
        let seconds = Int((time - day.start).rounded(.down))
        digits(date.year, 4)
        markup("-")
        digits(date.month, 2)
        markup("-")
        digits(date.day, 2)
        markup("T")
        digits(seconds / 3600, 2)
        markup(":")
        digits(seconds / 60 % 60, 2)
        markup(":")
        digits(seconds % 60, 2)
        markup("Z")
        markup(between)
        digits(seconds / 3600, 2)
        markup(":")
        digits(seconds / 60 % 60, 2)
    }

    /// Appends text with the five characters that can end text or an attribute value escaped.
    public mutating func escaped<Bytes: Collection>(_ text: Bytes) where Bytes.Element == UInt8 {
        var start = text.startIndex
        var index = start
        while index != text.endIndex {
            let replacement: StaticString? = switch text[index] {
            case UInt8(ascii: "&"): "&amp;"
            case UInt8(ascii: "<"): "&lt;"
            case UInt8(ascii: ">"): "&gt;"
            case UInt8(ascii: "\""): "&quot;"
            case UInt8(ascii: "'"): "&#39;"
            default: nil
            }
            if let replacement {
                bytes.append(contentsOf: text[start..<index])
                markup(replacement)
                start = text.index(after: index)
            }
            index = text.index(after: index)
        }
        bytes.append(contentsOf: text[start..<text.endIndex])
    }

    public mutating func escaped(_ text: String) {
        var text = text
        text.withUTF8 { escaped($0) }
    }

    /// A body: escaped, with http(s) URLs as links that pass no ranking (`nofollow ugc`)
    /// and no `window.opener` (`noopener`).
    public mutating func linkified(_ text: String) {
        var text = text
        text.withUTF8 { body in
            var rest = 0
            var search = 0
            while let start = Self.urlStart(in: body, from: search) {
                var end = start
                var opened = 0
                var closed = 0
                while end < body.count, !Self.endsURL(body, at: end) {
                    if body[end] == UInt8(ascii: "(") { opened += 1 } else if body[end] == UInt8(ascii: ")") { closed += 1 }
                    end += 1
                }
                // Punctuation that ends a sentence is not part of the address; a closing
                // parenthesis stays while the address opened as many (a wiki title). The
                // counts go down with the end: one pass, whatever a flood of ")" a body has.
                while end > start, ".,;:!?)]}'".utf8.contains(body[end - 1]) {
                    if body[end - 1] == UInt8(ascii: ")") {
                        if opened >= closed { break }
                        closed -= 1
                    }
                    end -= 1
                }
                let schemeLength = body[start + 4] == UInt8(ascii: ":") ? 7 : 8
                guard end - start > schemeLength else {
                    search = start + 1
                    continue
                }
                escaped(body[rest..<start])
                markup("<a href=\"")
                escaped(body[start..<end])
                markup("\" rel=\"nofollow ugc noopener\">")
                escaped(body[start..<end])
                markup("</a>")
                rest = end
                search = end
            }
            escaped(body[rest...])
        }
    }

    /// A search hit's body: escaped, with the matched words (between the store's marks) in `<mark>`.
    public mutating func highlighted(_ marked: String) {
        var marked = marked
        marked.withUTF8 { text in
            var start = 0
            for index in text.indices where text[index] == 1 || text[index] == 2 {
                escaped(text[start..<index])
                if text[index] == 1 { markup("<mark>") } else { markup("</mark>") }
                start = index + 1
            }
            escaped(text[start...])
        }
    }

    /// Where the next `http://` or `https://` (any case) at the start of a word begins.
    private static func urlStart(in text: UnsafeBufferPointer<UInt8>, from: Int) -> Int? {
        var index = from
        while index + 7 <= text.count {
            if text[index] | 0x20 == UInt8(ascii: "h"), index == 0 || !isWordByte(text[index - 1]) {
                func at(_ offset: Int, _ letter: Character) -> Bool {
                    index + offset < text.count && text[index + offset] | 0x20 == letter.asciiValue!
                }
                if at(1, "t") && at(2, "t") && at(3, "p") {
                    let colon = at(4, "s") ? 5 : 4
                    if index + colon + 2 < text.count, text[index + colon] == UInt8(ascii: ":"),
                       text[index + colon + 1] == UInt8(ascii: "/"), text[index + colon + 2] == UInt8(ascii: "/") {
                        return index
                    }
                }
            }
            index += 1
        }
        return nil
    }

    /// Letters, digits and every byte of a non-ASCII character: "xhttp://" is not a link.
    private static func isWordByte(_ byte: UInt8) -> Bool {
        byte >= 0x80 || (byte | 0x20 >= UInt8(ascii: "a") && byte | 0x20 <= UInt8(ascii: "z"))
            || (byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9"))
    }

    /// Whether an address ends at `index`: ASCII space or control, `<`, `>`, `"`, or a
    /// Unicode space (no-break, the U+2000 block, ideographic).
    private static func endsURL(_ text: UnsafeBufferPointer<UInt8>, at index: Int) -> Bool {
        let byte = text[index]
        if byte <= 0x20 || byte == UInt8(ascii: "<") || byte == UInt8(ascii: ">") || byte == UInt8(ascii: "\"") || byte == 0x7F {
            return true
        }
        if byte == 0xC2 { return index + 1 < text.count && text[index + 1] == 0xA0 }
        if byte == 0xE2, index + 2 < text.count, text[index + 1] == 0x80 {
            return text[index + 2] <= 0x8B || text[index + 2] == 0xA8 || text[index + 2] == 0xA9 || text[index + 2] == 0xAF
        }
        if byte == 0xE3 { return index + 2 < text.count && text[index + 1] == 0x80 && text[index + 2] == 0x80 }
        return false
    }
}

extension HTML {
    public static func escape(_ text: String) -> String {
        var html = HTML(capacity: text.utf8.count)
        html.escaped(text)
        return html.text
    }

    public static func linkified(_ text: String) -> String {
        var html = HTML(capacity: text.utf8.count + 64)
        html.linkified(text)
        return html.text
    }

    public static func highlighted(_ marked: String) -> String {
        var html = HTML(capacity: marked.utf8.count + 32)
        html.highlighted(marked)
        return html.text
    }
}
