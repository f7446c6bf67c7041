import Storage

/// Text made safe for HTML: every string a user wrote passes through here before it
/// reaches a page, and only here is markup (links, highlights) put around it.
public enum HTML {
    /// Escapes the five characters that can end text or an attribute value.
    public static func escape(_ text: Substring) -> String {
        var escaped = ""
        escaped.reserveCapacity(text.utf8.count + 16)
        for scalar in text.unicodeScalars {
            switch scalar {
            case "&": escaped += "&amp;"
            case "<": escaped += "&lt;"
            case ">": escaped += "&gt;"
            case "\"": escaped += "&quot;"
            case "'": escaped += "&#39;"
            default: escaped.unicodeScalars.append(scalar)
            }
        }
        return escaped
    }

    public static func escape(_ text: String) -> String { escape(text[...]) }

    /// A body as HTML: escaped, with http(s) URLs as links that pass no ranking
    /// (`nofollow ugc`) and no `window.opener` (`noopener`).
    public static func linkified(_ text: String) -> String {
        var html = ""
        var rest = text[...]
        while let start = firstURL(in: rest) {
            html += escape(rest[..<start])
            var end = rest[start...].firstIndex(where: { $0.isWhitespace || $0 == "<" || $0 == ">" || $0 == "\"" }) ?? rest.endIndex
            // Punctuation that ends a sentence is not part of the address.
            while end > start, let last = rest[..<end].last, ".,;:!?)]}'".contains(last) {
                // A closing parenthesis stays when the address opened one (a wiki title).
                if last == ")" {
                    let url = rest[start..<end]
                    if url.filter({ $0 == "(" }).count >= url.filter({ $0 == ")" }).count { break }
                }
                end = rest.index(before: end)
            }
            let url = rest[start..<end]
            if url.count > "https://".count {
                let escaped = escape(url)
                html += "<a href=\"\(escaped)\" rel=\"nofollow ugc noopener\">\(escaped)</a>"
            } else {
                html += escape(url)
            }
            rest = rest[end...]
        }
        return html + escape(rest)
    }

    private static func firstURL(in text: Substring) -> Substring.Index? {
        var search = text.startIndex
        while let h = text[search...].firstIndex(where: { $0 == "h" || $0 == "H" }) {
            let candidate = text[h...]
            let lower = candidate.prefix(8).lowercased()
            if lower.hasPrefix("https://") || lower.hasPrefix("http://") {
                // Only at the start of a word, so "xhttp://" is text.
                if h == text.startIndex || !text[text.index(before: h)].isLetter { return h }
            }
            search = text.index(after: h)
        }
        return nil
    }

    /// A search hit's body: escaped, with the matched words (between the store's
    /// marks) in `<mark>`.
    public static func highlighted(_ marked: String) -> String {
        var html = ""
        var runStart = marked.startIndex
        for index in marked.indices {
            let character = marked[index]
            if character == WebLogSearchHit.markStart || character == WebLogSearchHit.markEnd {
                html += escape(marked[runStart..<index])
                html += character == WebLogSearchHit.markStart ? "<mark>" : "</mark>"
                runStart = marked.index(after: index)
            }
        }
        html += escape(marked[runStart...])
        return html
    }
}
