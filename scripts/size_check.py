#!/usr/bin/env python3
"""Reports Swift files over 450 lines and functions over 80 lines (the house limits).

A function is counted from the line of its `func`, `init` or `subscript` keyword to the line of
the brace that closes its body; closures and nested functions count toward the one they sit in.
Fused numeric kernels may stand over the limit when they are listed in ALLOWED below with the
reason. Exits 1 when anything else is over a limit, so scripts/test.sh fails on it.

Usage: scripts/size_check.py [ROOT ...]   (default: Sources Tests)
"""
import re
import sys
from pathlib import Path

FILE_LIMIT = 450
FUNCTION_LIMIT = 80

# "path:function" of fused numeric kernels that read top to bottom as one loop nest.
ALLOWED: dict[str, str] = {
    "Sources/Tensors/Kernels/RecurrentDriver.swift:backward":
        "backward through time for a block of rows: one loop over steps around the cell, the per-step dgh·W_hh GEMM and the carry",
    "Sources/Tensors/Kernels/Variable+Attention.swift:selfAttention":
        "flash-style attention: forward over units with the (L, L) buffer, its backward closure recomputing P from lse",
    "Sources/Tensors/Kernels/Variable+LinearCrossEntropy.swift:linearCrossEntropy":
        "projection + cross-entropy per chunk of rows, forward and the backward that recomputes each chunk's logits",
    "Sources/Tensors/Kernels/Variable+Recurrent.swift:gruCell":
        "one GRU step: the fused forward over rows and its backward closure, sharing the saved gate activations",
}

DECLARATION = re.compile(r"^\s*(?:@\w+(?:\([^)]*\))?\s+)*(?:(?:public|internal|private|fileprivate|package|"
                         r"static|class|final|override|mutating|nonmutating|nonisolated|convenience|"
                         r"required|@inlinable|@usableFromInline|@discardableResult)\s+)*"
                         r"(func\s+([^\s(<]+)|init[?!]?\s*[(<]|subscript\s*[(<])")


def strip_strings_and_comments(line: str, in_block: bool) -> tuple[str, bool]:
    """Removes string literals and comments, so braces inside them are not counted."""
    out = []
    i = 0
    while i < len(line):
        if in_block:
            end = line.find("*/", i)
            if end < 0:
                return "".join(out), True
            i = end + 2
            in_block = False
            continue
        if line.startswith("//", i):
            break
        if line.startswith("/*", i):
            in_block = True
            i += 2
            continue
        if line[i] == '"':
            j = i + 1
            while j < len(line) and line[j] != '"':
                j += 2 if line[j] == "\\" else 1
            i = j + 1
            continue
        out.append(line[i])
        i += 1
    return "".join(out), in_block


def functions(lines: list[str]):
    """Yields (name, first line, last line) of every function body, 1-based."""
    in_block = False
    in_multiline_string = False
    depth = 0
    open_functions = []  # (name, start line, depth at which the body opened)
    pending = None
    for number, raw in enumerate(lines, start=1):
        if raw.count('"""') % 2 == 1:
            in_multiline_string = not in_multiline_string
            continue
        if in_multiline_string:
            continue
        code, in_block = strip_strings_and_comments(raw, in_block)
        match = DECLARATION.match(code)
        if match:
            name = match.group(2) or match.group(1).split("(")[0].strip()
            pending = (name, number)
        for char in code:
            if char == "{":
                depth += 1
                if pending is not None:
                    open_functions.append((pending[0], pending[1], depth))
                    pending = None
            elif char == "}":
                if open_functions and open_functions[-1][2] == depth:
                    name, start, _ = open_functions.pop()
                    yield name, start, number
                depth -= 1
        if pending is not None and code.rstrip().endswith(")") is False and "{" not in code and match is None:
            # A protocol requirement (no body) is dropped at the next declaration.
            pass


def main() -> int:
    roots = [Path(p) for p in sys.argv[1:]] or [Path("Sources"), Path("Tests")]
    problems = []
    for root in roots:
        for path in sorted(root.rglob("*.swift")):
            lines = path.read_text(encoding="utf-8").splitlines()
            if len(lines) > FILE_LIMIT:
                problems.append(f"{path}: {len(lines)} lines (limit {FILE_LIMIT})")
            for name, start, end in functions(lines):
                length = end - start + 1
                if length > FUNCTION_LIMIT and f"{path}:{name}" not in ALLOWED:
                    problems.append(f"{path}:{start}: func {name} is {length} lines (limit {FUNCTION_LIMIT})")
    for problem in problems:
        print(problem)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
