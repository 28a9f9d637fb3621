/// Where a request stands against its GDPR Art. 12(3) deadline. Pure: state, due date, the day
/// it ended and today in; the standing out. Only a request *completed* by its due date is on
/// time; a failed or needs_review request is unresolved, however early it ended.
public enum DeadlineStanding: String, Sendable, Hashable, Codable, CaseIterable {
    /// Completed on or before its due date.
    case completedOnTime = "completed_on_time"
    /// Completed after its due date.
    case completedLate = "completed_late"
    /// Failed or needs review, not yet past its due date.
    case unresolved
    /// Failed or needs review, past its due date: overdue.
    case unresolvedOverdue = "unresolved_overdue"
    /// Still being worked on, not yet due.
    case open
    /// Still being worked on, past its due date: overdue.
    case openOverdue = "open_overdue"
    /// Cancelled (counted apart, with its reason; it needs no further work).
    case cancelled
    /// Rejected (counted apart, with its reason; GDPR Art. 12(4) asks that the subject be told why).
    case rejected

    /// The standing of a request.
    public static func of(state: RequestState, due: CalendarDate, endedOn: CalendarDate?, today: CalendarDate) -> DeadlineStanding {
        switch state {
        case .completed:
            guard let endedOn else { return .completedLate }
            return endedOn <= due ? .completedOnTime : .completedLate
        case .failed, .needsReview:
            return due < today ? .unresolvedOverdue : .unresolved
        case .awaitingApproval, .received, .inProgress:
            // The month runs from receipt whether or not anyone has approved yet.
            return due < today ? .openOverdue : .open
        case .cancelled:
            return .cancelled
        case .rejected:
            return .rejected
        }
    }

    /// Past its due date and still needing work (open or unresolved).
    public var isOverdue: Bool { self == .unresolvedOverdue || self == .openOverdue }

    /// Completed, on time or not.
    public var isCompleted: Bool { self == .completedOnTime || self == .completedLate }

    /// Failed or needs review.
    public var isUnresolved: Bool { self == .unresolved || self == .unresolvedOverdue }

    /// Request states that can be overdue: they still need work.
    public static let statesThatCanBeOverdue: [RequestState] = [.awaitingApproval, .received, .inProgress, .failed, .needsReview]
}
