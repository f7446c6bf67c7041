import ArgumentParser
import Foundation
import Logging
import Service
import Storage

extension Parley.Archive {
    /// `parley archive sweep`: the retention sweep the service runs every
    /// `sweep_interval_minutes`, now, by hand (after lowering `retention_days`, say).
    struct Sweep: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Delete archived messages past their retention now (works while the service runs).",
            discussion: """
                Applies each room's retention (or [archive] retention_days) and removes the archives \
                of destroyed rooms older than [archive] keep_destroyed_days, in batches of 500 so the \
                running service never waits long. Prints how many messages went.
                """)

        @OptionGroup var common: CommonOptions

        func run() async throws {
            common.bootstrapLogging()
            let logger = Logger(label: "parley")
            let configuration = try common.loadConfiguration(logger: logger)
            let store = try openDatabase(configuration, common, logger: logger) {
                try SQLiteRoomStore(path: $0, durability: configuration.storage.durability, migrating: false)
            }
            let sweeper = RetentionSweeper(
                store: store, defaultDays: configuration.archive.retentionDays,
                keepDestroyedDays: configuration.archive.keepDestroyedDays, logger: logger)
            let due = (try? await sweeper.due()) ?? 0
            let progress = ProgressBar(
                "sweep", total: due, unit: "messages", enabled: ProgressBar.wanted(dataOnStandardOutput: false))
            let started = Date()
            let deleted = await sweeper.sweep { progress.advance(by: $0) }
            progress.finish()
            guard let deleted else {
                // The sweeper logged the reason.
                throw ExitCode(1)
            }
            print("sweep: \(deleted) archived messages expired in \(String(format: "%.2f", Date().timeIntervalSince(started))) s")
        }
    }
}
