import Foundation

/// Whether the component link is up now, and since when: what `/health` reports.
public actor LinkStatus {
    public private(set) var isUp = false
    /// When the link last came up or went down.
    public private(set) var since = Date()

    public init() {}

    func set(up: Bool) {
        guard up != isUp else { return }
        isUp = up
        since = Date()
    }
}
