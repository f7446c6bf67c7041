// The router fuzz target: bytes a server sends on the component stream in, everything
// Parley would write out. Unlike Fuzz/ParleyFuzz.swift (parser and one room), each input
// meets the whole service as `parley run` assembles it (`ServiceCore`): the router, every
// room, MAM with full text, the inbox, keyword alerts, admin commands, the multicast relay
// and SQLite, on a fresh database (one set of connections, emptied between inputs). Every
// write is parsed back: Parley must never send what is not well-formed or is over
// `component.max_stanza_bytes`, or the server drops the link.
//
// Built with `-DPARLEY_FUZZ` and `--sanitize=fuzzer,address` by Fuzz/run-router-fuzzer.sh,
// it is a libFuzzer binary; built plainly (as `swift build` does) it replays the files and
// directories it is given, so CI runs the seeds through the same code without sanitizers.
import Component
import Dispatch
import Foundation
import Logging
import NIOCore
import ParleyMetrics
import Service
import Storage
import XMLStream
import XMPPCore

private let domain = "rooms.localhost"
private let streamHeader = "<stream:stream xmlns='jabber:component:accept' xmlns:stream='http://etherx.jabber.org/streams' from='\(domain)' id='fuzz'>"
private let maxStanzaBytes = 64 * 1024
/// Three stanzas before each input: a room with its owner, unlocked, with one message in
/// its archive, so inputs reach configuration, moderation, MAM and alerts, not only entering.
private let prelude = """
    \(streamHeader)\
    <presence from='owner@localhost/desk' to='fuzz@\(domain)/Owner'><x xmlns='http://jabber.org/protocol/muc'/></presence>\
    <iq from='owner@localhost/desk' to='fuzz@\(domain)' id='c1' type='set'><query xmlns='http://jabber.org/protocol/muc#owner'>\
    <x xmlns='jabber:x:data' type='submit'/></query></iq>\
    <message from='owner@localhost/desk' to='fuzz@\(domain)' type='groupchat' id='m1'><body>hello fuzz</body></message>
    """

/// Waits for async work from libFuzzer's synchronous callback: the service's actors run
/// on the cooperative pool while this thread blocks.
private func blocking(_ work: @escaping @Sendable () async -> Void) {
    let done = DispatchSemaphore(value: 0)
    Task {
        await work()
        done.signal()
    }
    done.wait()
}

/// `PARLEY_FUZZ_TRACE=1`: every write goes to stderr, to see what an input reaches.
private let trace = ProcessInfo.processInfo.environment["PARLEY_FUZZ_TRACE"] != nil

/// What Parley writes must parse back, whole, within the limit the server enforces. One
/// reader per input, as the server has one per stream: the header is read once, then every
/// write in the order the link would send it.
private final class WrittenChecker {
    private let reader = XMLStreamParser(
        namespaceAliases: [Namespace.componentAccept: Namespace.client],
        limits: XMLStreamLimits(maxStanzaBytes: maxStanzaBytes, maxDepth: 64))

    init() {
        _ = reader.feed(Array(streamHeader.utf8))
    }

    func check(_ outbound: [Outbound]) {
        guard !outbound.isEmpty else { return }
        var buffer = ComponentClient.encode(outbound, allocator: ByteBufferAllocator())
        let written = buffer.readBytes(length: buffer.readableBytes) ?? []
        if trace { FileHandle.standardError.write(Data(written + [10])) }
        var stanzas = 0
        for event in reader.feed(written) {
            switch event {
            case .element: stanzas += 1
            case .streamOpen:
                fatalError("Parley wrote a second stream header")
            case .rejected(let element, let reason):
                fatalError("Parley wrote a \(element.name) the server would refuse: \(reason)")
            case .streamClose:
                fatalError("Parley wrote a stream close inside a stanza")
            }
        }
        if let failure = reader.error {
            fatalError("Parley wrote XML that does not parse: \(failure)\n\(String(decoding: written, as: UTF8.self))")
        }
        let expected = outbound.reduce(0) { $0 + $1.deliveries }
        precondition(stanzas == expected, "wrote \(stanzas) stanzas for \(expected) deliveries")
    }
}

/// What lives across inputs: the database's connections (with their reader threads) and the
/// metrics. Opening them per input cost nine tenths of an input's time; each input still
/// meets a service assembled afresh on a database emptied to what a new one holds.
private struct Shared: @unchecked Sendable {
    let storage: ServiceStorage
    let exporter: PrometheusExporter
    let metrics: ServiceMetrics
    /// A connection of the target's own that empties the database between inputs.
    let eraser: SQLiteDatabase
    /// One DELETE per table, prepared once (parsing them for every input cost a tenth of it).
    let deletes: [String]
}

private let shared: Shared = {
    let path = workDirectory.appendingPathComponent("fuzz.sqlite").path
    for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: path + suffix) }
    let configuration = settings(path: path, multicast: false)
    let box = Box<ServiceStorage>()
    blocking { box.value = try? await ServiceStorage.open(configuration, logger: quiet) }
    guard let storage = box.value else { fatalError("the fuzz database did not open at \(path)") }
    let exporter = PrometheusExporter()
    let metrics = ServiceMetrics(factory: exporter, version: "fuzz", startTime: 0)
    do {
        let eraser = try SQLiteDatabase(path: path, durability: .crash)
        // Every table a fresh database has empty; the archive first, so that its triggers
        // take its rows out of the full-text index; then AUTOINCREMENT counts from 1 again.
        let listing = try eraser.statement(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name NOT LIKE 'archive_fts%' ORDER BY name <> 'archive', name")
        var tables: [String] = []
        while try listing.step() { tables.append(listing.text(0) ?? "") }
        listing.finish()
        let deletes = tables.map { "DELETE FROM \"\($0)\"" } + ["DELETE FROM sqlite_sequence"]
        return Shared(storage: storage, exporter: exporter, metrics: metrics, eraser: eraser, deletes: deletes)
    } catch {
        fatalError("cannot open \(path) to empty it: \(error)")
    }
}()

/// A value set inside `blocking` and read after it.
private final class Box<Value>: @unchecked Sendable {
    var value: Value?
}

private let quiet = Logger(label: "fuzz", factory: { _ in SwiftLogNoOpLogHandler() })

private func settings(path: String, multicast: Bool) -> ParleyConfiguration {
    var configuration = ParleyConfiguration(
        component: ComponentConfiguration(
            domain: domain, host: "127.0.0.1", port: 5347, secret: "fuzz",
            limits: XMLStreamLimits(maxStanzaBytes: maxStanzaBytes, maxDepth: 32)),
        storage: StorageConfiguration(databasePath: path, durability: .crash),
        service: ServiceConfiguration(admins: [try! JID("admin@localhost")]),
        rooms: RoomsConfiguration(localDomain: "localhost"))
    configuration.multicast.mode = multicast ? .service(try! JID("localhost")) : .off
    return configuration
}

/// One input against a fresh service on an empty database.
private func run(_ input: [UInt8]) {
    let shared = shared
    do {
        try shared.eraser.transaction { () throws(StorageError) in
            for delete in shared.deletes { try shared.eraser.statement(delete).run() }
        }
    } catch {
        fatalError("cannot empty the fuzz database: \(error)")
    }
    // The first byte picks where the read is cut (as a socket read would cut it) and
    // whether fan-outs go through a multicast service.
    let first = input.first ?? 0
    let cut = input.count > 1 ? Int(first >> 1) % input.count : input.count
    let (bytes, configuration) = (input, settings(path: shared.storage.path, multicast: first & 1 == 1))
    blocking {
        let core: ServiceCore
        do {
            core = try await ServiceCore.assemble(
                configuration, storage: shared.storage, exporter: shared.exporter, metrics: shared.metrics,
                answersLate: false, logger: quiet)
        } catch {
            fatalError("the fuzz service did not assemble: \(error)")
        }
        let router = core.router
        let written = WrittenChecker()
        written.check(await router.linkReady())
        let parser = XMLStreamParser(
            namespaceAliases: [Namespace.componentAccept: Namespace.client], limits: configuration.component.limits)
        for read in [Array(prelude.utf8), Array(bytes[..<cut]), Array(bytes[cut...])] {
            var batch: [ComponentInput] = []
            for event in parser.feed(read) {
                switch event {
                case .element(let element): batch.append(.stanza(element))
                case .rejected(let element, let reason): batch.append(.rejected(element, reason: reason))
                case .streamOpen, .streamClose: continue
                }
            }
            // A stream error ends the link; what came before it was still handled.
            written.check(await router.handle(batch))
            if parser.error != nil { break }
        }
        written.check(await router.tick())
        written.check(await router.farewell())
        await core.rooms.flush()
    }
}

/// Where this process keeps its database: under `PARLEY_FUZZ_WORK_DIR` when the script names
/// one (a directory of its own per run, so cleaning up never touches a concurrent run's files).
private let workDirectory: URL = {
    let environment = ProcessInfo.processInfo.environment
    let base = environment["PARLEY_FUZZ_WORK_DIR"].flatMap { $0.isEmpty ? nil : $0 }
        ?? (FileManager.default.fileExists(atPath: "/dev/shm") ? "/dev/shm" : NSTemporaryDirectory())
    let url = URL(fileURLWithPath: base).appendingPathComponent("parley-fuzz-router-\(getpid())")
    try? FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    return url
}()

#if PARLEY_FUZZ
@_cdecl("LLVMFuzzerTestOneInput")
func parleyRouterFuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    if leakCanary { leakOneObject() }
    run(Array(UnsafeBufferPointer(start: data, count: size)))
    return 0
}

@_silgen_name("LLVMFuzzerRunDriver")
func LLVMFuzzerRunDriver(
    _ argc: UnsafeMutablePointer<CInt>,
    _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>,
    _ callback: @convention(c) (UnsafePointer<UInt8>, Int) -> CInt) -> CInt

/// `PARLEY_FUZZ_LEAK_CANARY=1`: an object per input that nothing points to, to show that a
/// run which reports no leak would have reported one.
private let leakCanary = ProcessInfo.processInfo.environment["PARLEY_FUZZ_LEAK_CANARY"] != nil

private final class LeakCanary {
    let payload = [UInt8](repeating: 0, count: 64)
}

@inline(never)
private func leakOneObject() {
    _ = Unmanaged.passRetained(LeakCanary())
}

/// The program's entry: SwiftPM links an executable's `main` to `<module>_main`, and with
/// `main` defined libFuzzer's archive leaves its own out; this hands over to libFuzzer's driver.
@_cdecl("parley_fuzz_router_main")
func fuzzMain(
    _ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?
) -> CInt {
    var count = argc
    var arguments = argv
    // libFuzzer ends with exit(), not by returning: every job of a -fork run would leave its
    // database in /dev/shm.
    atexit { try? FileManager.default.removeItem(at: workDirectory) }
    return LLVMFuzzerRunDriver(&count, &arguments, parleyRouterFuzz)
}
#else
/// A replay of every file named, and of every file in every directory named.
@main
enum RouterFuzzReplay {
    static func main() {
        var files: [URL] = []
        for argument in CommandLine.arguments.dropFirst() {
            let url = URL(fileURLWithPath: argument)
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: url.path, isDirectory: &isDirectory) else {
                FileHandle.standardError.write(Data("parley-fuzz-router: no such file: \(argument)\n".utf8))
                exit(2)
            }
            if isDirectory.boolValue {
                let names = (try? FileManager.default.contentsOfDirectory(atPath: url.path)) ?? []
                files += names.sorted().map { url.appendingPathComponent($0) }
            } else {
                files.append(url)
            }
        }
        let started = Date()
        for file in files {
            guard let data = try? Data(contentsOf: file) else { continue }
            run(Array(data))
        }
        try? FileManager.default.removeItem(at: workDirectory)
        print("parley-fuzz-router: replayed \(files.count) inputs in \(String(format: "%.2f", Date().timeIntervalSince(started))) s, no failure")
    }
}
#endif
