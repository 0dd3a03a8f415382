# Source-text helpers for the REPLs: when input needs a continuation line
# (the rules of py/repl.c), and how paste-mode text splits into top-level
# statements so each can be compiled with the REPL's value echo.
from micropython import const

_Q_NONE = const(0)
_Q_1S = const(1)
_Q_1D = const(2)
_Q_3S = const(3)
_Q_3D = const(4)

_COMPOUND = ("if", "while", "for", "try", "with", "def", "class", "async")
_CLAUSES = ("else", "elif", "except", "finally")


def _starts_with_word(s, w):
    n = len(w)
    if not s.startswith(w):
        return False
    return len(s) == n or not (s[n].isalpha() or s[n].isdigit() or s[n] == "_")


def scan(s, q=_Q_NONE, depth=0):
    # Returns (quote state, bracket depth) after s, starting from the given state.
    i = 0
    n = len(s)
    while i < n:
        c = s[i]
        if c == "'" or c == '"':
            q1 = _Q_1S if c == "'" else _Q_1D
            q3 = q1 + 2
            if (q == _Q_NONE or q == q3) and s[i + 1 : i + 3] == c + c:
                i += 2
                q = q3 - q
            elif q == _Q_NONE or q == q1:
                q = q1 - q
        elif c == "\\" and i + 1 < n and s[i + 1] in "'\"\\":
            if q != _Q_NONE:
                i += 1
        elif q == _Q_NONE:
            if c in "([{":
                depth += 1
            elif c in ")]}":
                depth -= 1
        i += 1
    return q, depth


def continue_with_input(s):
    # mp_repl_continue_with_input
    if not s:
        return False
    compound = s[0] == "@"
    if not compound:
        for w in _COMPOUND:
            if _starts_with_word(s, w):
                compound = True
                break
    q, depth = scan(s)
    if q == _Q_3S or q == _Q_3D:
        return True
    if depth > 0 and q == _Q_NONE:
        return True
    if s.endswith("\\"):
        return True
    return compound and not s.endswith("\n")


def split_statements(text):
    # Yields (first_line_number, statement_text) for each top-level statement.
    lines = text.split("\n")
    start = 0
    q = _Q_NONE
    depth = 0
    joined = False  # previous line ended with a backslash
    decorator = False
    for i, line in enumerate(lines):
        free = q == _Q_NONE and depth <= 0 and not joined
        head = line[:1]
        if free and i > start and head and head not in " \t#":
            clause = False
            for w in _CLAUSES:
                if _starts_with_word(line, w):
                    clause = True
                    break
            if not clause and not decorator:
                yield start + 1, "\n".join(lines[start:i])
                start = i
        if free and head and head not in " \t#":
            decorator = head == "@"
        q, depth = scan(line, q, depth)
        if q == _Q_1S or q == _Q_1D:
            q = _Q_NONE  # a one-line string ends with its line
        joined = line.endswith("\\")
    rest = "\n".join(lines[start:])
    if rest.strip():
        yield start + 1, rest
