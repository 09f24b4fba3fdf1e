#!/usr/bin/env python3
"""Lists what breaks the project's size limits: files over 600 lines and Rust
functions over 80 lines. Test files and test data (tests/, testdata/,
*/tests.rs, */tests/*.rs) and the vendored CRS (crs/) are exempt from the file
limit; the function limit applies everywhere.

Usage: scripts/limits.py [ROOT]   (default: the repository root)
Exit status: 0 when nothing is over, 1 otherwise.
"""

import os
import re
import sys

FILE_LIMIT = 600
FN_LIMIT = 80
SOURCE_EXT = (".rs", ".py", ".sh", ".toml", ".wit", ".js", ".html", ".css", ".lua")
SKIP_DIRS = {"target", ".git", ".spin", ".edgewaf", "node_modules"}
FN_START = re.compile(
    r"^\s*(?:pub(?:\([^)]*\))?\s+)?(?:const\s+)?(?:async\s+)?(?:unsafe\s+)?"
    r"(?:extern\s+\"[^\"]*\"\s+)?fn\s+(\w+)"
)


def exempt_from_file_limit(rel):
    parts = rel.split(os.sep)
    if parts[0] == "crs":
        return True
    if "tests" in parts[:-1] or "testdata" in parts or parts[-1] == "tests.rs":
        return True
    return False


def strip_code(line, in_block):
    """The line without strings, chars and comments; whether a block comment
    is still open at its end."""
    out, i, n = [], 0, len(line)
    while i < n:
        if in_block:
            end = line.find("*/", i)
            if end < 0:
                return "".join(out), True
            i, in_block = end + 2, False
            continue
        c = line[i]
        if line.startswith("//", i):
            break
        if line.startswith("/*", i):
            in_block, i = True, i + 2
            continue
        if c == '"':
            j = i + 1
            while j < n and line[j] != '"':
                j += 2 if line[j] == "\\" else 1
            i = j + 1
            continue
        if c == "'" and i + 2 < n and (line[i + 2] == "'" or line[i + 1] == "\\"):
            j = line.find("'", i + 2)
            i = (j + 1) if j > 0 else n
            continue
        out.append(c)
        i += 1
    return "".join(out), in_block


def long_functions(path):
    """(name, first line, length) of every fn body over FN_LIMIT lines.
    Brace counting with strings and comments removed; raw strings spanning
    lines can confuse it, so treat the output as a list to check."""
    found, stack, depth, in_block = [], [], 0, False
    with open(path, encoding="utf-8", errors="replace") as f:
        lines = f.readlines()
    pending = None
    for no, raw in enumerate(lines, 1):
        code, in_block = strip_code(raw, in_block)
        m = FN_START.match(code)
        if m and pending is None:
            pending = (m.group(1), no)
        for c in code:
            if c == "{":
                depth += 1
                if pending is not None:
                    stack.append((pending[0], pending[1], depth))
                    pending = None
            elif c == "}":
                if stack and stack[-1][2] == depth:
                    name, start, _ = stack.pop()
                    length = no - start + 1
                    if length > FN_LIMIT:
                        found.append((name, start, length))
                depth -= 1
            elif c == ";" and pending is not None:
                pending = None  # a declaration without a body (trait, extern)
    return found


def main():
    root = sys.argv[1] if len(sys.argv) > 1 else os.path.dirname(
        os.path.dirname(os.path.abspath(__file__)))
    files_over, fns_over = [], []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if d not in SKIP_DIRS)
        for name in sorted(filenames):
            path = os.path.join(dirpath, name)
            rel = os.path.relpath(path, root)
            if not name.endswith(SOURCE_EXT) or rel.split(os.sep)[0] == "crs":
                continue
            with open(path, encoding="utf-8", errors="replace") as f:
                count = sum(1 for _ in f)
            if count > FILE_LIMIT and not exempt_from_file_limit(rel):
                files_over.append((count, rel))
            if name.endswith(".rs"):
                for fn, start, length in long_functions(path):
                    fns_over.append((length, f"{rel}:{start}", fn))
    print(f"files over {FILE_LIMIT} lines (tests, testdata and crs/ exempt): {len(files_over)}")
    for count, rel in sorted(files_over, reverse=True):
        print(f"  {count:5}  {rel}")
    print(f"functions over {FN_LIMIT} lines: {len(fns_over)}")
    for length, where, fn in sorted(fns_over, reverse=True):
        print(f"  {length:5}  {where}  fn {fn}")
    return 1 if files_over or fns_over else 0


if __name__ == "__main__":
    sys.exit(main())
