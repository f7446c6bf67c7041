import Foundation

/// Turns text into the sequence of words that keyword matching compares:
/// case-folded, without diacritics, split on Unicode word boundaries (runs of
/// letters, digits and marks), so that `Café` matches `cafe`, `ops` does not
/// match `stops`, and a phrase matches across any run of spaces or punctuation.
public enum KeywordNormalizer {
    /// The words of `text`, normalised.
    public static func words(_ text: String) -> [Substring] {
        let folded = fold(text)
        var words: [Substring] = []
        var start: String.Index? = nil
        var index = folded.startIndex
        while index < folded.endIndex {
            let character = folded[index]
            if isWordCharacter(character) {
                if start == nil { start = index }
            } else if let wordStart = start {
                words.append(folded[wordStart..<index])
                start = nil
            }
            index = folded.index(after: index)
        }
        if let wordStart = start { words.append(folded[wordStart..<folded.endIndex]) }
        return words
    }

    /// Case- and diacritic-folded text (Unicode's own folding, locale-independent).
    public static func fold(_ text: String) -> String {
        text.folding(options: [.caseInsensitive, .diacriticInsensitive, .widthInsensitive], locale: nil)
    }

    private static func isWordCharacter(_ character: Character) -> Bool {
        character.isLetter || character.isNumber || character == "_"
    }
}
