/// The database schema, as numbered migrations. `PRAGMA user_version` says
/// which have run; each runs once, in its own transaction.
enum Schema {
    static let migrations: [String] = [
        // 1: rooms, affiliations, registered nicks, the archive.
        """
        CREATE TABLE rooms (
            jid TEXT PRIMARY KEY,
            configuration TEXT NOT NULL,
            subject TEXT,
            subject_nick TEXT,
            subject_time REAL,
            occupant_id_salt TEXT NOT NULL,
            is_public INTEGER NOT NULL,
            name TEXT NOT NULL,
            created REAL NOT NULL
        );
        CREATE TABLE affiliations (
            room TEXT NOT NULL REFERENCES rooms(jid) ON DELETE CASCADE,
            jid TEXT NOT NULL,
            affiliation TEXT NOT NULL,
            nick TEXT,
            PRIMARY KEY (room, jid)
        );
        CREATE INDEX affiliations_by_jid ON affiliations(jid);
        CREATE TABLE archive (
            seq INTEGER PRIMARY KEY AUTOINCREMENT,
            room TEXT NOT NULL,
            stanza_id TEXT NOT NULL,
            timestamp REAL NOT NULL,
            nick TEXT NOT NULL,
            sender_jid TEXT,
            body TEXT NOT NULL,
            stanza TEXT NOT NULL
        );
        CREATE UNIQUE INDEX archive_by_stanza_id ON archive(room, stanza_id);
        CREATE INDEX archive_by_room ON archive(room, seq);
        CREATE INDEX archive_by_time ON archive(room, timestamp);
        """,
        // 2: full-text search over bodies, case- and diacritic-insensitive, kept in step by triggers.
        """
        CREATE VIRTUAL TABLE archive_fts USING fts5(
            body, content='archive', content_rowid='seq', tokenize='unicode61 remove_diacritics 2'
        );
        INSERT INTO archive_fts(rowid, body) SELECT seq, body FROM archive;
        CREATE TRIGGER archive_fts_insert AFTER INSERT ON archive BEGIN
            INSERT INTO archive_fts(rowid, body) VALUES (new.seq, new.body);
        END;
        CREATE TRIGGER archive_fts_delete AFTER DELETE ON archive BEGIN
            INSERT INTO archive_fts(archive_fts, rowid, body) VALUES ('delete', old.seq, old.body);
        END;
        CREATE TRIGGER archive_fts_update AFTER UPDATE OF body ON archive BEGIN
            INSERT INTO archive_fts(archive_fts, rowid, body) VALUES ('delete', old.seq, old.body);
            INSERT INTO archive_fts(rowid, body) VALUES (new.seq, new.body);
        END;
        """,
        // 3: moderation (XEP-0425): who retracted a message, when and why.
        """
        ALTER TABLE archive ADD COLUMN moderated_by TEXT;
        ALTER TABLE archive ADD COLUMN moderated_at REAL;
        ALTER TABLE archive ADD COLUMN moderation_reason TEXT;
        """,
        // 4: per-room retention (null: the service default; 0: forever).
        """
        ALTER TABLE rooms ADD COLUMN retention_days INTEGER;
        """,
        // 5: the room as one opaque token in the full-text index, so that a
        // search in one room intersects two posting lists instead of scanning
        // the matches of every room. The exact room is still checked in SQL.
        """
        DROP TRIGGER archive_fts_insert;
        DROP TRIGGER archive_fts_delete;
        DROP TRIGGER archive_fts_update;
        DROP TABLE archive_fts;
        ALTER TABLE archive ADD COLUMN room_token TEXT GENERATED ALWAYS AS ('r' || hex(room)) VIRTUAL;
        CREATE VIRTUAL TABLE archive_fts USING fts5(
            body, room_token, content='archive', content_rowid='seq', tokenize='unicode61 remove_diacritics 2'
        );
        INSERT INTO archive_fts(archive_fts) VALUES ('rebuild');
        CREATE TRIGGER archive_fts_insert AFTER INSERT ON archive BEGIN
            INSERT INTO archive_fts(rowid, body, room_token) VALUES (new.seq, new.body, new.room_token);
        END;
        CREATE TRIGGER archive_fts_delete AFTER DELETE ON archive BEGIN
            INSERT INTO archive_fts(archive_fts, rowid, body, room_token) VALUES ('delete', old.seq, old.body, old.room_token);
        END;
        CREATE TRIGGER archive_fts_update AFTER UPDATE OF body ON archive BEGIN
            INSERT INTO archive_fts(archive_fts, rowid, body, room_token) VALUES ('delete', old.seq, old.body, old.room_token);
            INSERT INTO archive_fts(rowid, body, room_token) VALUES (new.seq, new.body, new.room_token);
        END;
        """,
        // 6: keyword alert subscriptions.
        """
        CREATE TABLE alert_subscriptions (
            subscriber TEXT NOT NULL,
            keyword_key TEXT NOT NULL,
            keyword TEXT NOT NULL,
            rooms TEXT,
            deliver INTEGER NOT NULL DEFAULT 1,
            created REAL NOT NULL,
            PRIMARY KEY (subscriber, keyword_key)
        );
        """,
        // 7: room followers (MucSub), read positions, and each message's place
        // in its room, so that unread counts are differences, not scans.
        """
        CREATE TABLE room_subscriptions (
            room TEXT NOT NULL REFERENCES rooms(jid) ON DELETE CASCADE,
            subscriber TEXT NOT NULL,
            nick TEXT NOT NULL,
            nodes TEXT NOT NULL,
            PRIMARY KEY (room, subscriber)
        );
        CREATE INDEX room_subscriptions_by_subscriber ON room_subscriptions(subscriber);
        CREATE TABLE read_positions (
            room TEXT NOT NULL,
            user TEXT NOT NULL,
            seq INTEGER NOT NULL,
            PRIMARY KEY (room, user)
        );
        ALTER TABLE archive ADD COLUMN room_ordinal INTEGER;
        ALTER TABLE archive ADD COLUMN message_id TEXT;
        WITH ordinals AS (SELECT seq, ROW_NUMBER() OVER (PARTITION BY room ORDER BY seq) AS n FROM archive)
        UPDATE archive SET room_ordinal = ordinals.n FROM ordinals WHERE ordinals.seq = archive.seq;
        CREATE INDEX archive_by_message_id ON archive(room, message_id);
        """,
        // 8: when each nick last spoke in each room, kept on every archived
        // message, so that "active in the last hour" reads a handful of rows.
        """
        CREATE TABLE room_activity (
            room TEXT NOT NULL,
            nick TEXT NOT NULL,
            last_time REAL NOT NULL,
            PRIMARY KEY (room, nick)
        ) WITHOUT ROWID;
        INSERT INTO room_activity (room, nick, last_time)
            SELECT room, nick, max(timestamp) FROM archive GROUP BY room, nick;
        """,
        // 9: which archived messages name which follower, for unread mention counts.
        """
        CREATE TABLE mentions (
            room TEXT NOT NULL,
            user TEXT NOT NULL,
            seq INTEGER NOT NULL,
            PRIMARY KEY (room, user, seq)
        ) WITHOUT ROWID;
        """,
        // 10: rooms end. A destroyed room's archive moves to a key of its own
        // (room@domain/ended-<ms>), out of reach of the room that may reuse the JID,
        // and stays exportable by admins until `keep_destroyed_days`. The full-text
        // index follows a row that moves.
        """
        CREATE TABLE ended_rooms (
            archive_key TEXT PRIMARY KEY,
            jid TEXT NOT NULL,
            ended REAL NOT NULL
        );
        CREATE TRIGGER archive_fts_move AFTER UPDATE OF room ON archive BEGIN
            INSERT INTO archive_fts(archive_fts, rowid, body, room_token) VALUES ('delete', old.seq, old.body, old.room_token);
            INSERT INTO archive_fts(rowid, body, room_token) VALUES (new.seq, new.body, new.room_token);
        END;
        """,
        // 11: keyword-alert `items` pages on from a stanza-id in any room: an index that
        // starts with it, so the anchor is one lookup instead of a scan of the archive.
        """
        CREATE INDEX archive_by_stanza_id_alone ON archive(stanza_id);
        """,
        // 12: who is in which room, so that after a crash the sessions the rooms held can be
        // told they are no longer in them (occupants themselves live in memory only).
        """
        CREATE TABLE occupant_sessions (
            room TEXT NOT NULL,
            session TEXT NOT NULL,
            nick TEXT NOT NULL,
            PRIMARY KEY (room, session)
        ) WITHOUT ROWID;
        """,
        // 13: every subject a room had and when, for the web logs' day pages (the
        // archive keeps messages with a body; a subject change has none).
        """
        CREATE TABLE room_subjects (
            room TEXT NOT NULL,
            time REAL NOT NULL,
            nick TEXT,
            text TEXT NOT NULL,
            PRIMARY KEY (room, time)
        ) WITHOUT ROWID;
        """,
    ]

    /// For tools that read beside the service: the schema must be the one this binary knows.
    static func requireCurrent(_ database: SQLiteDatabase) throws(StorageError) {
        let version = try version(of: database)
        guard version == migrations.count else {
            throw StorageError(
                code: -1,
                message: "the database has schema \(version) and this parley knows \(migrations.count): "
                    + "use the parley that runs the service (or start it once to migrate)")
        }
    }

    /// The schema version the database was last migrated to (SQLite's `user_version`).
    static func version(of database: SQLiteDatabase) throws(StorageError) -> Int {
        try database.statement("PRAGMA user_version").scalar()
    }

    static func migrate(_ database: SQLiteDatabase) throws(StorageError) {
        let version = try version(of: database)
        // A newer Parley wrote this database: an older binary must not guess at its tables.
        guard version <= migrations.count else {
            throw StorageError(
                code: -1,
                message: "the database has schema \(version), written by a newer Parley; this one knows up to \(migrations.count)")
        }
        guard version < migrations.count else { return }
        for (index, sql) in migrations.enumerated().dropFirst(version) {
            try database.transaction { () throws(StorageError) in
                try database.execute(sql)
                try database.execute("PRAGMA user_version = \(index + 1)")
            }
        }
    }
}
