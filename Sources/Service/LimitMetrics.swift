import ParleyMetrics
import MUC

extension ServiceMetrics.Limit {
    /// The metric label of a room's refusal.
    init(_ refusal: LimitRefusal) {
        switch refusal {
        case .roomLimits: self = .roomLimits
        case .rate(.message): self = .messageRate
        case .rate(.presence): self = .presenceRate
        case .rate(.subjectChange): self = .subjectRate
        }
    }
}
