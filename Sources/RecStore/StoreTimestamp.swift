import Foundation

/// UTC timestamps in the store's format (`2021-10-21T20:15:23Z`, as `ISO8601DateFormatter`
/// writes them), computed directly: the formatter took most of an import's time.
public enum StoreTimestamp {
    /// The ISO 8601 text of a Unix time, to the whole second (rounded down).
    public static func text(unixSeconds: Double) -> String {
        // Gregorian years 1583 to 9999; earlier times Foundation writes in the Julian calendar,
        // and later ones need more than four digits: both are left to it.
        guard unixSeconds.isFinite, unixSeconds >= -12_212_553_600, unixSeconds < 253_402_300_800 else {
            return ISO8601DateFormatter().string(from: Date(timeIntervalSince1970: unixSeconds))
        }
        let seconds = Int64(unixSeconds.rounded(.down))
        var days = seconds >= 0 ? seconds / 86_400 : (seconds - 86_399) / 86_400
        let secondOfDay = seconds - days * 86_400
        // Howard Hinnant's civil_from_days.
        days += 719_468
        let era = (days >= 0 ? days : days - 146_096) / 146_097
        let dayOfEra = days - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1_460 + dayOfEra / 36_524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let monthIndex = (5 * dayOfYear + 2) / 153
        let day = dayOfYear - (153 * monthIndex + 2) / 5 + 1
        let month = monthIndex < 10 ? monthIndex + 3 : monthIndex - 9
        let year = yearOfEra + era * 400 + (month <= 2 ? 1 : 0)
        var bytes = [UInt8]()
        bytes.reserveCapacity(20)
        func append(_ value: Int64, digits: Int) {
            var divisor: Int64 = 1
            for _ in 1..<digits { divisor *= 10 }
            var rest = value
            while divisor > 0 {
                bytes.append(UInt8(48 + rest / divisor))
                rest %= divisor
                divisor /= 10
            }
        }
        append(year, digits: 4)
        bytes.append(45)
        append(month, digits: 2)
        bytes.append(45)
        append(day, digits: 2)
        bytes.append(84)
        append(secondOfDay / 3_600, digits: 2)
        bytes.append(58)
        append(secondOfDay / 60 % 60, digits: 2)
        bytes.append(58)
        append(secondOfDay % 60, digits: 2)
        bytes.append(90)
        return String(decoding: bytes, as: UTF8.self)
    }

    /// The Unix time of a timestamp the store holds: `YYYY-MM-DDTHH:MM:SSZ` directly, any other
    /// ISO 8601 text through Foundation; nil for empty or unreadable text.
    public static func unixSeconds(_ text: String) -> Double? {
        let bytes = Array(text.utf8)
        func number(_ range: Range<Int>) -> Int64? {
            var value: Int64 = 0
            for index in range {
                let digit = bytes[index] &- 48
                guard digit < 10 else { return nil }
                value = value * 10 + Int64(digit)
            }
            return value
        }
        if bytes.count == 20, bytes[4] == 45, bytes[7] == 45, bytes[10] == 84, bytes[13] == 58, bytes[16] == 58,
            bytes[19] == 90, let year = number(0..<4), let month = number(5..<7), let day = number(8..<10),
            let hour = number(11..<13), let minute = number(14..<16), let second = number(17..<19), year >= 1583,
            (1...12).contains(month), (1...31).contains(day)
        {
            // Howard Hinnant's days_from_civil.
            let y = month <= 2 ? year - 1 : year
            let era = y / 400
            let yearOfEra = y - era * 400
            let dayOfYear = (153 * (month > 2 ? month - 3 : month + 9) + 2) / 5 + day - 1
            let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
            let days = era * 146_097 + dayOfEra - 719_468
            return Double(days * 86_400 + hour * 3_600 + minute * 60 + second)
        }
        guard !text.isEmpty, let date = ISO8601DateFormatter().date(from: text) else { return nil }
        return date.timeIntervalSince1970
    }
}
