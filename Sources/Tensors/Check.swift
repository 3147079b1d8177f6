/// Stops the program with `message` when `condition` is false, in every build configuration.
///
/// For the checks that a caller's data can break: shapes that do not fit, an index outside its
/// range, a size that must be positive. `precondition` checks the same in an optimized build but
/// drops its message there (Swift prints only "Fatal error" and a file), so a user of the release
/// binary would learn nothing of what was wrong. The message is built only when the check fails,
/// so a check in a kernel costs one comparison.
///
/// ```swift
/// checkArgument(k == kb, "matmul: inner extents differ, \(a) gives \(k) and \(b) gives \(kb)")
/// ```
@inlinable @inline(__always)
public func checkArgument(
    _ condition: @autoclosure () -> Bool, _ message: @autoclosure () -> String,
    file: StaticString = #fileID, line: UInt = #line
) {
    if !condition() { fatalError(message(), file: file, line: line) }
}
