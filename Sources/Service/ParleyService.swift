import Component
import Logging
import NIOPosix
import XMPPCore

/// The one place where Parley is assembled from its parts: read this to see the whole architecture.
public struct ParleyService: Sendable {
    public let configuration: ParleyConfiguration
    private let logger: Logger

    public init(configuration: ParleyConfiguration, logger: Logger) {
        self.configuration = configuration
        self.logger = logger
    }

    /// Runs until cancelled, or until the server rejects the component's secret.
    public func run() async throws(ComponentFailure) {
        let domain: JID
        do {
            domain = try JID(configuration.component.domain)
        } catch {
            preconditionFailure("the configuration loader validated the domain: \(error)")
        }
        let router = Router(domain: domain, serviceName: configuration.service.name, logger: logger)
        let component = ComponentClient(
            configuration: configuration.component, handler: router, logger: logger)
        logger.info("Parley \(ParleyVersion.current) serving \(domain)")
        try await component.run()
    }
}
