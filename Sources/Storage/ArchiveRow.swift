import MUC
import XMLStream
import XMPPCore

/// How an archived message is read back: one column list, one decoder, used
/// by every query that returns messages.
enum ArchiveRow {
    /// Select these, in this order, to decode with `SQLiteStatement.archivedMessage`.
    static let columns = "stanza_id, timestamp, nick, sender_jid, body, stanza"
}

extension SQLiteStatement {
    /// The message in the six `ArchiveRow.columns` starting at `column`, or nil
    /// if its stanza does not parse (which only a damaged database could cause).
    func archivedMessage(room: JID, at column: Int32 = 0) -> ArchivedMessage? {
        guard let text = text(column + 5), let stanza = XMLStreamParser.parseElement(text) else { return nil }
        return ArchivedMessage(
            stanzaID: self.text(column) ?? "", room: room, timestamp: double(column + 1), nick: self.text(column + 2) ?? "",
            senderJID: self.text(column + 3).flatMap { try? JID($0) }, body: self.text(column + 4) ?? "", stanza: stanza)
    }
}

/// Runs an archive query, giving every failure its MAM meaning.
func withArchiveErrors<T>(_ body: () throws -> T) throws(ArchiveQueryError) -> T {
    do {
        return try body()
    } catch let error as ArchiveQueryError {
        throw error
    } catch let error as StorageError {
        throw .storage(error)
    } catch {
        throw .storage(StorageError(code: -1, message: "\(error)"))
    }
}
