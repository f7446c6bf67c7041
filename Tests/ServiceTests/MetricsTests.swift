import Foundation
import ParleyMetrics
import Testing
import XMLStream
import XMPPCore

@testable import Component
@testable import Service

@Suite struct MetricsTests {
    @Test func everyDefinedFamilyIsExportedWithItsHelpLine() {
        let exporter = PrometheusExporter()
        _ = ServiceMetrics(factory: exporter, version: "9.9.9", startTime: 1_800_000_000)
        let text = exporter.render()
        for metric in ParleyMetric.all {
            #expect(text.contains("# HELP \(metric.name) \(metric.help)"), "\(metric.name)")
            #expect(text.contains("# TYPE \(metric.name) \(metric.kind.rawValue)"), "\(metric.name)")
        }
        #expect(text.contains("parley_build_info{version=\"9.9.9\"} 1"))
    }

    @Test func outboundStanzasAreCountedByKindAndErrorsByCondition() throws {
        let exporter = PrometheusExporter()
        let metrics = ServiceMetrics(factory: exporter)
        let message = XMLElement("message", namespace: Namespace.client, attributes: ["type": "groupchat"])
        var error = XMLElement("message", namespace: Namespace.client, attributes: ["type": "error", "to": "a@b/c"])
        var condition = XMLElement("error", namespace: Namespace.client, attributes: ["type": "cancel"])
        condition.append(XMLElement("item-not-found", namespace: Namespace.stanzaErrors))
        error.append(condition)
        var relayed = XMLElement("iq", namespace: Namespace.client, attributes: ["type": "error", "to": "a@b/c"])
        var made = XMLElement("error", namespace: Namespace.client, attributes: ["type": "cancel"])
        made.append(XMLElement("made-up-by-a-client", namespace: Namespace.stanzaErrors))
        relayed.append(made)
        let recipients = try (1...5).map { try JID("user\($0)@example.org/r") }
        metrics.count([.fanOut(message, recipients: recipients), .stanza(error), .stanza(relayed)])
        let text = exporter.render()
        #expect(text.contains("parley_stanzas_sent_total{kind=\"message\"} 6"))
        #expect(text.contains("parley_stanzas_sent_total{kind=\"iq\"} 1"))
        #expect(text.contains("parley_stanza_errors_sent_total{condition=\"item-not-found\"} 1"))
        #expect(text.contains("parley_stanza_errors_sent_total{condition=\"other\"} 1"))
        #expect(!text.contains("made-up-by-a-client"))
    }

    @Test func timersAreHistogramsInSeconds() {
        let exporter = PrometheusExporter()
        let metrics = ServiceMetrics(factory: exporter)
        metrics.archiveCommit.recordNanoseconds(3_000_000)
        metrics.archiveBatch.record(7)
        let text = exporter.render()
        #expect(text.contains("parley_archive_commit_seconds_bucket{le=\"0.0025\"} 0"))
        #expect(text.contains("parley_archive_commit_seconds_bucket{le=\"0.005\"} 1"))
        #expect(text.contains("parley_archive_commit_seconds_count 1"))
        #expect(text.contains("parley_archive_commit_batch_messages_sum 7"))
    }
}
