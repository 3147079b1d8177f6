import Foundation

/// UTC timestamps in the store's format (`2021-10-21T20:15:23Z`, as `ISO8601DateFormatter`
/// writes them), computed directly: the formatter took most of an import's time.
public enum StoreTimestamp {
    /// The ISO 8601 text of a Unix time, to the whole second (rounded down).
    public static func text(unixSeconds: Double) -> String {
        // Proleptic Gregorian years 1 to 9999, as RFC 3339 writes them; times outside (which the
        // store never accepts) are left to Foundation.
        guard unixSeconds.isFinite, unixSeconds >= -62_135_596_800, unixSeconds < 253_402_300_800 else {
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

    /// The Unix time of a timestamp the store holds: RFC 3339 text (the store's own form first of
    /// all) read in the proleptic Gregorian calendar, any other ISO 8601 text through Foundation;
    /// nil for empty or unreadable text.
    public static func unixSeconds(_ text: String) -> Double? {
        if let seconds = rfc3339(text) { return seconds.rounded(.down) }
        guard !text.isEmpty, let date = ISO8601DateFormatter().date(from: text) else { return nil }
        return date.timeIntervalSince1970
    }

    /// The Unix time of an RFC 3339 date-time (`2026-01-02T15:04:05Z`, `2026-01-02T15:04:05.25+01:00`;
    /// `T` and `Z` in either case), the format Gorse accepts; nil for anything else, an impossible
    /// date or time (`2026-02-30`, `25:00`) included. A leap second (`:60`) is read as `:59`.
    public static func rfc3339(_ text: String) -> Double? {
        var text = text
        return text.withUTF8 { rfc3339($0) }
    }

    static func rfc3339(_ bytes: UnsafeBufferPointer<UInt8>) -> Double? {
        guard bytes.count >= 20, bytes.count <= 64 else { return nil }
        func digits(_ start: Int, _ count: Int) -> Int64? {
            guard start + count <= bytes.count else { return nil }
            var value: Int64 = 0
            for index in start..<(start + count) {
                let digit = bytes[index] &- 48
                guard digit < 10 else { return nil }
                value = value * 10 + Int64(digit)
            }
            return value
        }
        guard let year = digits(0, 4), bytes[4] == 45, let month = digits(5, 2), bytes[7] == 45,
            let day = digits(8, 2), bytes[10] == 84 || bytes[10] == 116, let hour = digits(11, 2), bytes[13] == 58,
            let minute = digits(14, 2), bytes[16] == 58, let second = digits(17, 2),
            year >= 1, (1...12).contains(month), day >= 1, day <= daysIn(month: month, year: year), hour < 24,
            minute < 60, second <= 60
        else { return nil }
        var position = 19
        var fraction = 0.0
        if bytes[position] == 46 {  // "."
            var scale = 0.1
            position += 1
            let start = position
            while position < bytes.count, bytes[position] &- 48 < 10 {
                fraction += Double(bytes[position] - 48) * scale
                scale /= 10
                position += 1
            }
            guard position > start else { return nil }
        }
        guard position < bytes.count else { return nil }
        var offset: Int64 = 0
        if bytes[position] == 90 || bytes[position] == 122 {  // "Z"
            position += 1
        } else if bytes[position] == 43 || bytes[position] == 45 {  // "+" or "-"
            guard let hours = digits(position + 1, 2), position + 3 < bytes.count, bytes[position + 3] == 58,
                let minutes = digits(position + 4, 2), hours < 24, minutes < 60
            else { return nil }
            offset = (hours * 3_600 + minutes * 60) * (bytes[position] == 43 ? 1 : -1)
            position += 6
        } else {
            return nil
        }
        guard position == bytes.count else { return nil }
        let days = daysFromCivil(year: year, month: month, day: day)
        return Double(days * 86_400 + hour * 3_600 + minute * 60 + min(second, 59) - offset) + fraction
    }

    /// Whether `text` is already in the store's form (`YYYY-MM-DDTHH:MM:SSZ`, a real date and
    /// time): the bulk import's check, which must not cost a rewrite of every row.
    public static func isStoreForm(_ text: String) -> Bool {
        var text = text
        return text.withUTF8 { $0.count == 20 && $0[10] == 84 && $0[19] == 90 && rfc3339($0) != nil }
    }

    /// The store's text (`YYYY-MM-DDTHH:MM:SSZ`, UTC, whole seconds) of an RFC 3339 time, so that
    /// timestamps sort by time as text; nil when `text` is not one or falls outside years 1–9999.
    public static func normalized(_ text: String) -> String? {
        guard let seconds = rfc3339(text), seconds >= -62_135_596_800, seconds < 253_402_300_800 else { return nil }
        return self.text(unixSeconds: seconds)
    }

    static func daysIn(month: Int64, year: Int64) -> Int64 {
        switch month {
        case 2: return year % 4 == 0 && (year % 100 != 0 || year % 400 == 0) ? 29 : 28
        case 4, 6, 9, 11: return 30
        default: return 31
        }
    }

    /// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's days_from_civil).
    static func daysFromCivil(year: Int64, month: Int64, day: Int64) -> Int64 {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yearOfEra = y - era * 400
        let dayOfYear = (153 * (month > 2 ? month - 3 : month + 9) + 2) / 5 + day - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        return era * 146_097 + dayOfEra - 719_468
    }
}
