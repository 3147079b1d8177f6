/// Shape operations: reshape, axis permutation, concatenation and slicing. They move elements
/// and never compute, so backward moves the gradient back the same way.
extension Variable {
    /// The same elements under `shape` (no copy); backward `dx += dy` reshaped.
    @_specialize(where Scalar == Float)
    public func reshaped(_ shape: [Int]) -> Variable {
        let out = value.reshaped(shape)
        let input = self
        return Variable.result(out, inputs: [self]) { output, _ in
            if let dy = output.grad { input.addGradient(adopting: dy) }
        }
    }

    /// Axes reordered: output axis `i` is input axis `permutation[i]` (`numpy.transpose`).
    @_specialize(where Scalar == Float)
    public func permuted(_ permutation: [Int]) -> Variable {
        let shape = value.shape
        checkArgument(
            permutation.sorted() == Array(shape.indices),
            "permute: \(permutation) is not a permutation of the axes of \(shape)")
        let outShape = permutation.map { shape[$0] }
        // Moving only axes of length 1 leaves the elements in order: a reshape, no copy (the head
        // split of one-head attention).
        let moved = permutation.filter { shape[$0] != 1 }
        if moved == moved.sorted() { return reshaped(outShape) }
        let inStrides = Tensor<Scalar>.strides(of: shape)
        // Output walk with the input as the "broadcast" operand, strides permuted.
        let map = BroadcastMap(strided: outShape, permutation.map { inStrides[$0] })
        var out = Tensor<Scalar>(uninitialized: outShape)
        value.scalars.withUnsafeBufferPointer { x in
            out.scalars.withUnsafeMutableBufferPointer { y in
                map.forEachRun { o, ia, _, count, sa, _ in
                    for j in 0..<count { y[o + j] = x[ia + j * sa] }
                }
            }
        }
        let input = self
        return Variable.result(out, inputs: [self]) { _, dy in
            input.withGradient { dx in
                map.forEachRun { o, ia, _, count, sa, _ in
                    for j in 0..<count { dx[ia + j * sa] += dy[o + j] }
                }
            }
        }
    }

    /// The last two axes swapped.
    public func transposed() -> Variable {
        let rank = value.shape.count
        checkArgument(rank >= 2, "transposed: needs two axes, got shape \(value.shape)")
        return permuted(Array(0..<(rank - 2)) + [rank - 1, rank - 2])
    }

    /// Elements `range` of `axis`; backward adds `dy` into that block of `dx`.
    @_specialize(where Scalar == Float)
    public func slice(axis: Int, _ range: Range<Int>) -> Variable {
        let shape = value.shape
        checkArgument(axis >= 0 && axis < shape.count, "slice: axis \(axis) out of shape \(shape)")
        checkArgument(
            range.lowerBound >= 0 && range.upperBound <= shape[axis],
            "slice: \(range) out of 0..<\(shape[axis]) on axis \(axis) of \(shape)")
        let outer = shape[..<axis].reduce(1, *)
        let inner = shape[(axis + 1)...].reduce(1, *)
        var outShape = shape
        outShape[axis] = range.count
        let (width, block, start) = (shape[axis] * inner, range.count * inner, range.lowerBound * inner)
        var out = Tensor<Scalar>(uninitialized: outShape)
        value.scalars.withUnsafeBufferPointer { x in
            out.scalars.withUnsafeMutableBufferPointer { y in
                guard let x = x.baseAddress, let y = y.baseAddress else { return }
                for o in 0..<outer { (y + o * block).update(from: x + o * width + start, count: block) }
            }
        }
        let input = self
        return Variable.result(out, inputs: [self]) { _, dy in
            input.withGradient { dx in
                guard let dx = dx.baseAddress, let dy = dy.baseAddress else { return }
                for o in 0..<outer {
                    let (target, source) = (dx + o * width + start, dy + o * block)
                    for j in 0..<block { target[j] += source[j] }
                }
            }
        }
    }

    /// The variables joined along `axis`; all other extents must agree.
    @_specialize(where Scalar == Float)
    public static func concatenate(_ parts: [Variable], axis: Int) -> Variable {
        checkArgument(!parts.isEmpty, "concatenate: no operands")
        let first = parts[0].value.shape
        checkArgument(axis >= 0 && axis < first.count, "concatenate: axis \(axis) out of shape \(first)")
        for part in parts {
            let shape = part.value.shape
            checkArgument(
                shape.count == first.count && shape.indices.allSatisfy { $0 == axis || shape[$0] == first[$0] },
                "concatenate: shapes \(first) and \(shape) differ off axis \(axis)")
        }
        let outer = first[..<axis].reduce(1, *)
        let inner = first[(axis + 1)...].reduce(1, *)
        let blocks = parts.map { $0.value.shape[axis] * inner }
        let width = blocks.reduce(0, +)
        var outShape = first
        outShape[axis] = width / Swift.max(1, inner)
        if inner == 0 { outShape[axis] = parts.reduce(0) { $0 + $1.value.shape[axis] } }
        var out = Tensor<Scalar>(uninitialized: outShape)
        var offsets: [Int] = []
        var start = 0
        for (part, block) in zip(parts, blocks) {
            offsets.append(start)
            part.value.scalars.withUnsafeBufferPointer { x in
                out.scalars.withUnsafeMutableBufferPointer { y in
                    for o in 0..<outer {
                        for j in 0..<block { y[o * width + start + j] = x[o * block + j] }
                    }
                }
            }
            start += block
        }
        return Variable.result(out, inputs: parts) { _, dy in
            for (index, part) in parts.enumerated() where part.requiresGradient {
                let (block, begin) = (blocks[index], offsets[index])
                part.withGradient { dx in
                    for o in 0..<outer {
                        for j in 0..<block { dx[o * block + j] += dy[o * width + begin + j] }
                    }
                }
            }
        }
    }
}

extension BroadcastMap {
    /// A walk over `shape` where operand A has arbitrary `strides` (operand B is unused).
    init(strided shape: [Int], _ strides: [Int]) {
        self.init(coalescing: shape, strides, Array(repeating: 0, count: shape.count))
    }
}
