# The friendly REPL and paste mode (shared/runtime/pyexec.c, section 1-2 of
# protocol-facts.md), plus input() on the same line editor.
import micropython
from micropython import const
import fw_exec
import fw_source
import fw_sys

SOFT_RESET = const(1)
TO_RAW = const(2)

_PASTE_BANNER = b"\npaste mode; Ctrl-C to cancel, Ctrl-D to finish\n=== "


@micropython.native
def _exec_single(con, src, g):
    code = compile(src, "<stdin>", "single")
    con.arm()
    exec(code, g)


@micropython.native
def _exec_paste(con, src, g):
    # Compile every top-level statement first (a syntax error anywhere runs
    # nothing, as with the board's whole-file compile), each in "single"
    # mode so expression values echo.  Leading backslash-newlines keep line
    # numbers right (a blank line is a syntax error in "single" mode).
    codes = []
    src = src.replace("\r\n", "\n").replace("\r", "\n")
    for line_no, stmt in fw_source.split_statements(src):
        codes.append(compile("\\\n" * (line_no - 1) + stmt + "\n", "<stdin>", "single"))
    con.arm()
    for c in codes:
        exec(c, g)


def friendly_repl(board):
    con = board.con
    rl = board.readline
    con.write(board.banner)
    line = bytearray()
    while True:
        board.unlock_heap()
        line[:] = b""
        r = rl.readline(line, fw_sys.prompts[0], True)
        if r == 1:
            con.write(b"\n")
            return TO_RAW
        if r == 2:
            con.write(b"\n")
            con.write(board.banner)
            continue
        if r == 3:
            con.write(b"\n")
            continue
        if r == 4:
            con.write(b"\n")
            return SOFT_RESET
        if r == 5:
            src = _paste(con)
            if src is None:
                continue
            ret = fw_exec.run(con, _exec_paste, src, board.g, False)
        else:
            if not line:
                continue
            cancelled = False
            while fw_source.continue_with_input(str(line, "utf-8")):
                line.append(10)
                r = rl.readline(line, fw_sys.prompts[1], True)
                if r == 3:
                    con.write(b"\n")
                    cancelled = True
                    break
                if r == 4:
                    break
            if cancelled:
                continue
            ret = fw_exec.run(con, _exec_single, str(line, "utf-8"), board.g, False)
        if ret == fw_exec.FORCED_EXIT:
            return SOFT_RESET


def _paste(con):
    con.write(_PASTE_BANNER)
    buf = bytearray()
    while True:
        c = con.getc()
        if c == 3:
            con.write(b"\n")
            return None
        if c == 4:
            con.write(b"\n")
            return str(buf, "utf-8")
        buf.append(c)
        if c == 13:
            con.write(b"\n=== ")
        else:
            con.write_raw(bytes((c,)))


def make_input(board):
    @micropython.native
    def input(prompt=""):
        line = bytearray()
        r = board.readline.readline(line, prompt)
        if r == 3:
            raise KeyboardInterrupt()
        if r == 4 and not line:
            raise EOFError()
        return str(line, "utf-8")

    return input
