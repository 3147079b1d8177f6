import Foundation

/// What the store holds, in a few numbers that are cheap to read at 10^8 events: two reads of
/// the mark that compare equal mean that no feedback row and no item was written or deleted in
/// between (users without feedback do not count: no model reads them).
///
/// The numbers are the backend's own and mean nothing across backends; compare marks only for
/// equality. SQLite: the largest feedback and item rowids (a new or replaced row gets a larger
/// one; a `rowid` lookup is instant) and a counter that triggers bump on every update and
/// delete. PostgreSQL: the largest feedback `seq` (for the reader) and the sum of per-connection
/// counters that a statement trigger on `feedback` and `items` bumps in the writing transaction,
/// so that a write is counted exactly when it commits and concurrent writers never wait on one
/// row. Bulk loads add nothing per row (one count per statement on PostgreSQL, none on SQLite's
/// inserts).
public struct StoreChangeMark: Sendable, Equatable, Codable {
    /// The largest feedback rowid (SQLite) or `seq` (PostgreSQL); 0 when there is none.
    public var feedback: Int
    /// The largest item rowid (SQLite); 0 on PostgreSQL.
    public var items: Int
    /// Updates and deletes (SQLite) or write statements (PostgreSQL) since the store was made.
    public var changes: Int

    public init(feedback: Int, items: Int, changes: Int) {
        self.feedback = feedback
        self.items = items
        self.changes = changes
    }
}

/// One server's latest report of the published version it serves.
public struct ServedModelReport: Sendable, Equatable {
    /// The server's name for itself: host, port and process id.
    public var replica: String
    /// The published version it serves.
    public var version: Int
    /// Seconds since the report, by the database's clock.
    public var age: Double

    public init(replica: String, version: Int, age: Double) {
        self.replica = replica
        self.version = version
        self.age = age
    }
}

/// How often a server reports its published version, and how long a report protects it.
public enum ServedModelReports {
    /// A server that follows published models reports the version it serves this often.
    public static let interval: Duration = .seconds(10)
    /// A version reported within this many seconds is never deleted by the trainer: 30 missed
    /// reports, so a server cut off from the database for up to 5 minutes (a PostgreSQL restart
    /// or failover) keeps its version; one that stopped longer ago, or exited, protects nothing.
    public static let staleAfter: Double = 300
    /// Reports older than this are dropped when a server reports (servers that exited).
    static let forgetAfter: Double = 86_400

    /// The name a server reports under: host, port and process id.
    public static func replicaName(port: Int) -> String {
        "\(ProcessInfo.processInfo.hostName):\(port) pid \(ProcessInfo.processInfo.processIdentifier)"
    }
}
