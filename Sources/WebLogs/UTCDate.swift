import Storage

/// Dates as the web logs write them, in UTC, without a formatter: a day page formats
/// thousands of times and `DateFormatter` is slow and locale-bound.
public struct UTCDate: Sendable, Hashable {
    public var year: Int
    public var month: Int
    public var day: Int

    /// The civil date of a day number (days since 1970-01-01), after Howard Hinnant's algorithm.
    public init(_ webLogDay: WebLogDay) {
        let z = webLogDay.number + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let dayOfEra = z - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36_524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let mp = (5 * dayOfYear + 2) / 153
        day = dayOfYear - (153 * mp + 2) / 5 + 1
        month = mp < 10 ? mp + 3 : mp - 9
        year = yearOfEra + era * 400 + (month <= 2 ? 1 : 0)
    }

    public init(year: Int, month: Int, day: Int) {
        self.year = year
        self.month = month
        self.day = day
    }

    /// The day number of this date.
    public var webLogDay: WebLogDay {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yearOfEra = y - era * 400
        let dayOfYear = (153 * (month > 2 ? month - 3 : month + 9) + 2) / 5 + day - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        return WebLogDay(number: era * 146_097 + dayOfEra - 719_468)
    }

    /// `YYYY-MM-DD`, the form day paths use.
    public var text: String { "\(Self.digits(year, 4))-\(Self.digits(month, 2))-\(Self.digits(day, 2))" }

    /// Parses exactly `YYYY-MM-DD` of a real date (2026-02-30 is not one).
    public init?(text: Substring) {
        let bytes = Array(text.utf8)
        guard bytes.count == 10, bytes[4] == UInt8(ascii: "-"), bytes[7] == UInt8(ascii: "-") else { return nil }
        func number(_ range: Range<Int>) -> Int? {
            var value = 0
            for byte in bytes[range] {
                guard (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) else { return nil }
                value = value * 10 + Int(byte - UInt8(ascii: "0"))
            }
            return value
        }
        guard let year = number(0..<4), let month = number(5..<7), let day = number(8..<10),
              year >= 1970, (1...12).contains(month), (1...31).contains(day) else { return nil }
        self.init(year: year, month: month, day: day)
        guard UTCDate(webLogDay) == self else { return nil }
    }

    static let monthNames = ["January", "February", "March", "April", "May", "June", "July", "August", "September",
                             "October", "November", "December"]

    /// "5 December 2026".
    public var longText: String { "\(day) \(Self.monthNames[month - 1]) \(year)" }

    static func digits(_ value: Int, _ count: Int) -> String {
        let text = String(value)
        return text.count >= count ? text : String(repeating: "0", count: count - text.count) + text
    }

    /// `2026-12-05T14:03:09Z` and `14:03`, for a `<time>` element and its text.
    public static func clock(_ time: Double) -> (iso: String, hourMinute: String) {
        let day = WebLogDay(containing: time)
        let seconds = Int((time - day.start).rounded(.down))
        let hour = digits(seconds / 3600, 2)
        let minute = digits(seconds / 60 % 60, 2)
        return ("\(UTCDate(day).text)T\(hour):\(minute):\(digits(seconds % 60, 2))Z", "\(hour):\(minute)")
    }

    /// An HTTP date (RFC 9110 §5.6.7) for `Last-Modified`.
    public static func httpDate(_ time: Double) -> String {
        let day = WebLogDay(containing: time)
        let date = UTCDate(day)
        let weekday = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"][((day.number % 7) + 7) % 7]
        let month = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"][date.month - 1]
        let seconds = Int((time - day.start).rounded(.down))
        return "\(weekday), \(digits(date.day, 2)) \(month) \(date.year) "
            + "\(digits(seconds / 3600, 2)):\(digits(seconds / 60 % 60, 2)):\(digits(seconds % 60, 2)) GMT"
    }
}
