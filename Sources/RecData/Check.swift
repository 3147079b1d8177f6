/// Stops with `message` when `condition` is false, in every build configuration (`precondition`
/// drops its message under `-O`). `Tensors.checkArgument` is the public twin for the numeric
/// targets; this module sits below it.
@inline(__always)
func checkArgument(
    _ condition: @autoclosure () -> Bool, _ message: @autoclosure () -> String,
    file: StaticString = #fileID, line: UInt = #line
) {
    if !condition() { fatalError(message(), file: file, line: line) }
}
