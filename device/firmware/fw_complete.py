# Tab completion for the friendly REPL (py/repl.c mp_repl_autocomplete): a
# dotted name is completed against __main__'s globals and then attributes;
# after "import " against the built-in modules.  Several matches with no
# longer common prefix are listed in 16-column slots, 64 columns a line.
from micropython import const

_SLOT = const(16)
_LINE = const(64)
# The built-in modules `import` can find on this board (a PYBv1.1's, less
# the ones the virtual board lacks: network, socket, _onewire).
MODULES = ("__main__", "_asyncio", "array", "binascii", "builtins", "cmath", "collections",
           "deflate", "errno", "framebuf", "gc", "hashlib", "heapq", "io", "json", "machine",
           "math", "micropython", "os", "platform", "pyb", "random", "re", "select", "stm",
           "struct", "sys", "time", "uctypes", "vfs")


def _word_start(s):
    i = len(s)
    while i > 0:
        c = s[i - 1]
        if not (c.isalpha() or c.isdigit() or c == "_" or c == "."):
            break
        i -= 1
    return i


def _candidates(obj, g):
    if obj is None:
        return MODULES
    if obj is g:
        return list(g)
    return dir(obj)


def complete(con, text, g):
    # text: the line up to the cursor.  Returns the bytes to insert, b"" for
    # no match, or None when the matches were listed.
    start = _word_start(text)
    parts = text[start:].split(".")
    obj = g
    for name in parts[:-1]:
        try:
            obj = g[name] if obj is g else getattr(obj, name)
        except Exception:
            return b""
    word = parts[-1]
    if text.startswith("import "):
        obj = None
    n = len(word)
    matches = []
    for name in _candidates(obj, g):
        if not isinstance(name, str) or (n == 0 and name[:1] == "_"):
            continue
        if name.startswith(word) and name not in matches:
            matches.append(name)
    if not matches:
        if start == 0 and 0 < n < 7 and "import "[:n] == word:
            return ("import "[n:]).encode()
        return b""
    common = matches[0]
    for m in matches[1:]:
        i = n
        while i < len(common) and i < len(m) and common[i] == m[i]:
            i += 1
        common = common[:i]
    if len(matches) == 1 or len(common) > n:
        return common[n:].encode()
    _list(con, sorted(matches))
    return None


def _list(con, names):
    line = _LINE  # forces a newline before the first word
    for name in names:
        gap = (line + _SLOT - 1) // _SLOT * _SLOT - line
        if gap < 2:
            gap += _SLOT
        if line + gap + len(name) <= _LINE:
            con.write(" " * gap + name)
            line += gap + len(name)
        else:
            con.write("\n" + name)
            line = len(name)
    con.write("\n")
