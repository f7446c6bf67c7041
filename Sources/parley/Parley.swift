import ArgumentParser
import Dispatch
#if canImport(Glibc)
import Glibc
#endif
import Logging
import Service

/// The `parley` command line (DESIGN.md §4).
@main
struct Parley: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "parley",
        abstract: "Persistent group chat for XMPP, attached to your server as a component.",
        version: ParleyVersion.current,
        subcommands: [Run.self, CheckConfig.self, Archive.self, Rooms.self, Backup.self])
}

/// Options every subcommand shares.
struct CommonOptions: ParsableArguments {
    @Option(name: .long, help: "Path of the TOML configuration file.")
    var config: String

    @Option(name: .long, help: "trace, debug, info, notice, warning, error or critical.")
    var logLevel: LogLevelArgument = LogLevelArgument(level: .info)

    enum LogFormat: String, ExpressibleByArgument, CaseIterable {
        case text, json
    }

    @Option(name: .long, help: "text (one readable line per event) or json (one JSON object per line, for log shippers).")
    var logFormat: LogFormat = .text

    func bootstrapLogging() {
        let level = logLevel.level
        switch logFormat {
        case .text:
            LoggingSystem.bootstrap { label in
                var handler = StreamLogHandler.standardError(label: label)
                handler.logLevel = level
                return handler
            }
        case .json:
            LoggingSystem.bootstrap { label in JSONLogHandler(logLevel: level, label: label) }
        }
    }

    /// Loads the configuration or exits with status 2 and a message that names the file and key.
    func loadConfiguration(logger: Logger) throws -> ParleyConfiguration {
        do {
            return try ConfigurationLoader.load(path: config)
        } catch {
            logger.critical("configuration error: \(error)")
            throw ExitCode(2)
        }
    }
}

struct LogLevelArgument: ExpressibleByArgument {
    let level: Logger.Level

    init(level: Logger.Level) {
        self.level = level
    }

    init?(argument: String) {
        guard let level = Logger.Level(rawValue: argument.lowercased()) else { return nil }
        self.level = level
    }

    static var allValueStrings: [String] { Logger.Level.allCases.map(\.rawValue) }
    var defaultValueDescription: String { level.rawValue }
}

extension Parley {
    struct Run: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Run the service until SIGTERM or SIGINT.")

        @OptionGroup var options: CommonOptions

        @Flag(help: "With --log-level debug, log message bodies, subjects and statuses too (redacted by default).")
        var logStanzaBodies = false

        func run() async throws {
            options.bootstrapLogging()
            let logger = Logger(label: "parley")
            var configuration = try options.loadConfiguration(logger: logger)
            configuration.component.stanzaLog.includesBodies = logStanzaBodies
            let service = ParleyService(configuration: configuration, logger: logger)
            let task = Task { try await service.run() }
            let signals = SignalWatcher(signals: [SIGTERM, SIGINT, SIGHUP]) { signal in
                guard signal != SIGHUP else {
                    // The usual "reload" signal (logrotate, systemctl reload) must not stop the service.
                    logger.notice("received SIGHUP: nothing to reload; configuration changes take effect on restart")
                    return
                }
                logger.notice("received signal \(signal); shutting down")
                // In order: the archive committed, occupants told (332), the stream closed. If
                // that has not ended the service within five seconds, it ends anyway.
                service.requestStop()
                Task {
                    try? await Task.sleep(for: .seconds(5))
                    task.cancel()
                }
            }
            defer { signals.cancel() }
            do {
                try await task.value
            } catch {
                logger.critical("stopping: \(error)")
                throw ExitCode(1)
            }
        }
    }

    struct CheckConfig: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "check-config", abstract: "Validate the configuration file and exit (status 2 if it is wrong).")

        @OptionGroup var options: CommonOptions

        func run() async throws {
            options.bootstrapLogging()
            let logger = Logger(label: "parley")
            let configuration = try options.loadConfiguration(logger: logger)
            print("\(options.config): OK (component \(configuration.component.domain) via \(configuration.component.host):\(configuration.component.port), database \(configuration.storage.databasePath))")
        }
    }
}
