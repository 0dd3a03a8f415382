# Line editing for the friendly REPL and input(), byte for byte as
# shared/readline/readline.c: VT100 redraws, Emacs keys, 8-line history and
# auto-indent.  Bytes >= 0x80 and unknown control bytes are ignored.
from micropython import const

_HISTORY = const(8)
_AI_ENABLED = const(1)
_AI_JUST_ADDED = const(2)
_ESC_NONE = const(0)
_ESC = const(1)
_ESC_BRACKET = const(2)
_ESC_DIGIT = const(3)
_ESC_O = const(4)

_history = []  # most recent first


def _push_history(s):
    if s and (not _history or _history[0] != s):
        _history.insert(0, s)
        if len(_history) > _HISTORY:
            _history.pop()


def _back(con, n):
    if n <= 0:
        return
    if n <= 4:
        con.write(b"\b\b\b\b"[:n])
    else:
        con.write("\x1b[%uD" % n)


class Readline:
    def __init__(self, con, completer=None):
        self.con = con
        # completer(text before the cursor) -> bytes to insert, b"" for no
        # match, or None after it printed a listing of matches.
        self.completer = completer
        self.last_nl = 0
        self.ai = 0

    def readline(self, line, prompt, auto_indent=False):
        # line: bytearray holding previous lines of this input; returns the
        # control char that ended input early (1-5), or 0 on newline.
        con = self.con
        orig = len(line)
        cur = orig
        esc = _ESC_NONE
        digit = 0
        hist = -1
        if not line:
            self.ai = _AI_ENABLED if auto_indent else 0
        con.write(prompt)
        if self.ai:
            cur = self._auto_indent(line, cur)
            if cur != orig:
                self.ai |= _AI_JUST_ADDED
        while True:
            c = con.getc()
            last_len = len(line)
            back = 0
            redraw = False
            fwd = 0
            if esc == _ESC_NONE:
                if 1 <= c <= 5 and len(line) == orig:
                    return c
                elif c == 1:
                    back = cur - orig
                elif c == 2:
                    if cur > orig:
                        back = 1
                elif c == 3:
                    return c
                elif c == 4:
                    if cur < len(line):
                        line[cur : cur + 1] = b""
                        redraw = True
                elif c == 5:
                    fwd = len(line) - cur
                elif c == 6:
                    if cur < len(line):
                        fwd = 1
                elif c == 11:
                    line[cur:] = b""
                    redraw = True
                elif c == 14:
                    hist, back, fwd = self._history(line, orig, cur, hist, -1)
                    redraw = back >= 0
                elif c == 16:
                    hist, back, fwd = self._history(line, orig, cur, hist, 1)
                    redraw = back >= 0
                elif c == 21:
                    line[orig:cur] = b""
                    back = cur - orig
                    redraw = True
                elif (c == 13 or c == 10) and (self.last_nl == 0 or self.last_nl == c):
                    self.last_nl = c
                    con.write(b"\n")
                    _push_history(bytes(line[orig:]))
                    return 0
                elif c == 27:
                    esc = _ESC
                elif c == 8 or c == 127:
                    if cur > orig:
                        n = 0
                        for i in range(orig, cur):
                            if line[i] != 32:
                                n = 0
                                break
                            n += 1
                        n = 4 if n >= 4 else 1
                        line[cur - n : cur] = b""
                        back = n
                        redraw = True
                elif (self.ai & _AI_JUST_ADDED) and (c == 9 or c == 32):
                    self.ai = 0
                    if c == 32:
                        back = 3
                        line[len(line) - 3 :] = b""
                elif c == 9:
                    if cur > 0 and line[cur - 1] in b" \t\n\r\x0b\x0c":
                        ins = b"    "
                    elif self.completer is not None:
                        ins = self.completer(str(line[orig:cur], "utf-8"))
                    else:
                        ins = b""
                    if ins is None:
                        redraw = True  # a listing was printed: the line follows
                        con.write(prompt)
                        con.write(line[orig:cur])
                    elif ins:
                        line[cur:cur] = ins
                        redraw = True
                        fwd = len(ins)
                elif 32 <= c <= 126:
                    line[cur:cur] = bytes((c,))
                    redraw = True
                    fwd = 1
                if not (c == 13 or c == 10):
                    self.last_nl = 0
            elif esc == _ESC:
                esc = _ESC_BRACKET if c == 91 else _ESC_O if c == 79 else _ESC_NONE
            elif esc == _ESC_BRACKET:
                esc = _ESC_NONE
                if 48 <= c <= 57:
                    esc = _ESC_DIGIT
                    digit = c
                elif c == 65:
                    hist, back, fwd = self._history(line, orig, cur, hist, 1)
                    redraw = back >= 0
                elif c == 66:
                    hist, back, fwd = self._history(line, orig, cur, hist, -1)
                    redraw = back >= 0
                elif c == 67:
                    if cur < len(line):
                        fwd = 1
                elif c == 68:
                    if cur > orig:
                        back = 1
                elif c == 72:
                    back = cur - orig
                elif c == 70:
                    fwd = len(line) - cur
            elif esc == _ESC_DIGIT:
                esc = _ESC_NONE
                if c == 126:
                    if digit == 49 or digit == 55:
                        back = cur - orig
                    elif digit == 52 or digit == 56:
                        fwd = len(line) - cur
                    elif digit == 51 and cur < len(line):
                        line[cur : cur + 1] = b""
                        redraw = True
            elif esc == _ESC_O:
                esc = _ESC_NONE
                if c == 72:
                    back = cur - orig
                elif c == 70:
                    fwd = len(line) - cur
            cur = self._redraw(line, cur, last_len, back, redraw, fwd)
            self.ai &= ~_AI_JUST_ADDED

    def _history(self, line, orig, cur, hist, step):
        # Returns (new index, cursor steps back, steps forward); back < 0 = no change.
        new = hist + step
        if step > 0 and (new >= len(_history)):
            return hist, -1, 0
        if step < 0 and hist < 0:
            return hist, -1, 0
        line[orig:] = _history[new] if new >= 0 else b""
        return new, cur - orig, len(line) - orig

    def _redraw(self, line, cur, last_len, back, redraw, fwd):
        con = self.con
        if back > 0:
            _back(con, back)
            cur -= back
        if redraw:
            if len(line) < last_len:
                con.write(b"\x1b[K")
            con.write(line[cur:])
            _back(con, len(line) - (cur + fwd))
            cur += fwd
        elif fwd > 0:
            con.write(line[cur : cur + fwd])
            cur += fwd
        return cur

    def _auto_indent(self, line, cur):
        n = len(line)
        if n <= 1 or line[n - 1] != 10:
            return cur
        i = n - 1
        while i > 0 and line[i - 1] != 10:
            i -= 1
        j = i
        while j < n and line[j] == 32:
            j += 1
        if i > 0 and j + 1 == n:
            # previous line (not the first) is all spaces
            k = i - 1
            while k > 0:
                if line[k - 1] == 10:
                    return cur  # two blank lines: no indent
                if line[k - 1] != 32:
                    break
                k -= 1
        levels = (j - i) // 4
        if line[n - 2] == 58:  # ':'
            levels += 1
        if levels:
            line.extend(b"    " * levels)
            self.con.write(b"    " * levels)
            cur += 4 * levels
        return cur
