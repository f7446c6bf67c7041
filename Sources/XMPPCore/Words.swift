import Foundation

/// Turns text into the sequence of words that keyword matching and mention
/// counting compare:
/// case-folded, without diacritics, split on Unicode word boundaries (runs of
/// letters, digits and `_`), so that `Café` matches `cafe`, `ops` does not
/// match `stops`, and a phrase matches across any run of spaces or punctuation.
public enum Words {
    /// The words of `text`, normalised.
    public static func words(_ text: String) -> [String] {
        var words: [String] = []
        words.reserveCapacity(32)
        if text.utf8.allSatisfy({ $0 < 0x80 }) {
            // Most messages are ASCII: lower-case and split the bytes directly,
            // which is several times faster than Unicode folding.
            var word: [UInt8] = []
            word.reserveCapacity(32)
            for byte in text.utf8 {
                switch byte {
                case UInt8(ascii: "A")...UInt8(ascii: "Z"):
                    word.append(byte + 32)
                case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "_"):
                    word.append(byte)
                default:
                    if !word.isEmpty {
                        words.append(String(decoding: word, as: UTF8.self))
                        word.removeAll(keepingCapacity: true)
                    }
                }
            }
            if !word.isEmpty { words.append(String(decoding: word, as: UTF8.self)) }
            return words
        }
        let folded = fold(text)
        var word = ""
        for character in folded {
            if character.isLetter || character.isNumber || character == "_" {
                word.append(character)
            } else if !word.isEmpty {
                words.append(word)
                word = ""
            }
        }
        if !word.isEmpty { words.append(word) }
        return words
    }

    /// Case- and diacritic-folded text (Unicode's own folding, locale-independent).
    public static func fold(_ text: String) -> String {
        text.folding(options: [.caseInsensitive, .diacriticInsensitive, .widthInsensitive], locale: nil)
    }
}
