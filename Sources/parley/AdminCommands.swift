import ArgumentParser
import Foundation
import Logging
import Service
import Storage
import XMPPCore

/// Opens the configured database with `open`, for a command beside a running service;
/// a missing or unusable database exits 1 with the reason.
func openDatabase<T>(
    _ configuration: ParleyConfiguration, _ common: CommonOptions, logger: Logger, _ open: (String) throws -> T
) throws -> T {
    let path = configuration.storage.databasePath
    guard FileManager.default.fileExists(atPath: path) else {
        logger.critical("no database at \(path) (storage.database in \(common.config))")
        throw ExitCode(1)
    }
    do {
        return try open(path)
    } catch {
        logger.critical("cannot open \(path): \(error)")
        throw ExitCode(1)
    }
}

/// Opens the database for an admin command beside a running service, or exits with the reason.
func openAdminDatabase(_ common: CommonOptions) throws -> AdminDatabase {
    common.bootstrapLogging()
    let logger = Logger(label: "parley")
    let configuration = try common.loadConfiguration(logger: logger)
    return try openDatabase(configuration, common, logger: logger) { try AdminDatabase(path: $0) }
}

extension Parley {
    /// `parley backup --to FILE`: a consistent copy of the database, taken while Parley runs.
    struct Backup: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Copy the database to FILE, consistent while the service runs; restore by copying it back.",
            discussion: """
                SQLite's online backup takes the database as it was at one moment (every message \
                archived before that moment is in the copy), checks the copy with PRAGMA \
                integrity_check, and only then moves it to FILE. To restore: stop Parley, copy FILE \
                over the database (and remove its -wal and -shm files), start Parley.
                """)

        @OptionGroup var common: CommonOptions

        @Option(help: "Where to write the copy (replaced if it exists).")
        var to: String

        func run() async throws {
            let database = try openAdminDatabase(common)
            let started = Date()
            // One backup step holds the whole copy (see AdminDatabase.backup): the terminal
            // sees the time it has taken so far rather than a fraction.
            let progress = ProgressBar(
                "backup to \(to)", total: nil, unit: "", enabled: ProgressBar.wanted(dataOnStandardOutput: false))
            let ticker = Task.detached {
                while !Task.isCancelled {
                    progress.tick()
                    try? await Task.sleep(for: .milliseconds(200))
                }
            }
            defer {
                ticker.cancel()
                progress.finish()
            }
            do {
                let pages = try database.backup(to: to)
                ticker.cancel()
                progress.finish("copied and checked")
                let size = (try? FileManager.default.attributesOfItem(atPath: to)[.size] as? Int) ?? 0
                print("backup: \(to) (\(pages) pages, \(size) bytes, integrity ok) in \(String(format: "%.2f", Date().timeIntervalSince(started))) s")
            } catch {
                Logger(label: "parley").critical("backup failed: \(error)")
                throw ExitCode(1)
            }
        }
    }

    /// `parley rooms list|show`: the rooms the store keeps, without a client.
    struct Rooms: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "List the service's rooms, or show one (works while the service runs).",
            subcommands: [List.self, Show.self])

        struct List: AsyncParsableCommand {
            static let configuration = CommandConfiguration(
                abstract: "One line per persistent room: JID, messages, followers, last message, name.")

            @OptionGroup var common: CommonOptions

            @Flag(help: "One JSON object per line.")
            var json = false

            func run() async throws {
                let database = try openAdminDatabase(common)
                var output = Output()
                let encoder = JSONEncoder()
                encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
                for room in try database.rooms() {
                    if json {
                        output.line(String(decoding: try encoder.encode(room), as: UTF8.self))
                    } else {
                        let last = room.lastMessage.map { DateTime.format($0) } ?? "-"
                        output.line("\(room.jid)  \(room.messages) messages  \(room.followers) followers  last \(last)"
                            + "  \(room.isPublic ? "public" : "hidden")  \(room.name)")
                    }
                }
                output.flush()
            }
        }

        struct Show: AsyncParsableCommand {
            static let configuration = CommandConfiguration(abstract: "One room as JSON, with its affiliations.")

            @OptionGroup var common: CommonOptions

            @Argument(help: "The room's JID.")
            var jid: String

            func run() async throws {
                guard let room = try? JID(jid), room.localpart != nil else {
                    Logger(label: "parley").critical("'\(jid)' is not a room JID")
                    throw ExitCode(2)
                }
                let database = try openAdminDatabase(common)
                guard let summary = try database.room(room) else {
                    Logger(label: "parley").critical("no room \(room) in the database")
                    throw ExitCode(1)
                }
                let encoder = JSONEncoder()
                encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes, .prettyPrinted]
                print(String(decoding: try encoder.encode(summary), as: UTF8.self))
            }
        }
    }
}
