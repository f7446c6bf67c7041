import CoreMetrics
import Foundation

/// Whether the component link is up now, and since when: what `/health` reports.
public actor LinkStatus {
    public private(set) var isUp = false
    /// When the link last came up or went down.
    public private(set) var since = Date()

    /// `parley_component_link_up`.
    private let gauge: Gauge?
    private let onChange: @Sendable (Bool) -> Void

    public init(gauge: Gauge? = nil, onChange: @escaping @Sendable (Bool) -> Void = { _ in }) {
        self.gauge = gauge
        self.onChange = onChange
    }

    func set(up: Bool) {
        guard up != isUp else { return }
        isUp = up
        since = Date()
        gauge?.record(up ? 1 : 0)
        onChange(up)
    }
}
