import XMPPCore

/// Who is in which room, kept beside the archive so that a crash does not leave
/// clients believing they are still in rooms (Docs/operations.md, "After a crash").
extension SQLiteRoomStore {
    func record(_ changes: [OccupancyChange]) throws(StorageError) {
        for change in changes {
            switch change {
            case .entered(let room, let session, let nick):
                try database.statement("INSERT OR REPLACE INTO occupant_sessions (room, session, nick) VALUES (?, ?, ?)")
                    .bind(.text(room.description), .text(session.description), .text(nick)).run()
            case .left(let room, let session):
                try database.statement("DELETE FROM occupant_sessions WHERE room = ? AND session = ?")
                    .bind(.text(room.description), .text(session.description)).run()
            }
        }
    }

    public func takeRememberedOccupants() throws(StorageError) -> [RememberedOccupant] {
        var remembered: [RememberedOccupant] = []
        try database.transaction { () throws(StorageError) in
            let rows = try database.statement("SELECT room, session, nick FROM occupant_sessions ORDER BY room, session")
            while try rows.step() {
                guard let room = rows.text(0).flatMap({ try? JID($0) }),
                      let session = rows.text(1).flatMap({ try? JID($0) }), let nick = rows.text(2) else { continue }
                remembered.append(RememberedOccupant(room: room, session: session, nick: nick))
            }
            try database.statement("DELETE FROM occupant_sessions").run()
        }
        return remembered
    }
}
