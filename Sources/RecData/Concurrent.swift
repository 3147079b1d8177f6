import Foundation

/// A value computed on a thread of its own while the caller goes on; ``value()`` waits for it.
///
/// A thread of its own, not a queue's or a task's: the caller may block in ``value()`` from
/// anywhere, a task included, without taking a worker another piece of work needs.
public final class Concurrent<Value: Sendable>: @unchecked Sendable {
    // Written once by the thread before `done` is signalled, read only after waiting for it.
    private var result: Result<Value, any Error>?
    private let done = DispatchSemaphore(value: 0)

    /// Starts `work` at once.
    public init(_ work: @escaping @Sendable () throws -> Value) {
        let thread = Thread { [self] in
            result = Result { try work() }
            done.signal()
        }
        thread.stackSize = 8 << 20
        thread.start()
    }

    /// The value, or the error `work` threw, once `work` has returned.
    public func value() throws -> Value {
        done.wait()
        defer { done.signal() }  // so that a second call returns too
        switch result {
        case .some(let result): return try result.get()
        case .none: throw CancellationError()  // unreachable: the result is set before the signal
        }
    }
}
