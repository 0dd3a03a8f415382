# Compile and run user code the way shared/runtime/pyexec.c does.
#
# The functions that call exec() are native code on purpose: exceptions that
# pass through native frames get no traceback entry.  The firmware's frames
# an exception passed through are taken out when it is printed
# (fw_traceback), so tracebacks show only the user's frames, as on a board.
import micropython
from micropython import const
import fw_machine
from fw_traceback import print_exception

NORMAL = const(0)
FORCED_EXIT = const(1)  # SystemExit: the board soft-resets

_EOF = b"\x04"
# The raw REPL's end of a run: end of output, (no) error, end, and its next
# prompt, in one write so that the host gets it in one piece.
_RAW_END = b"\x04\x04>"
_RAW_ERROR_END = b"\x04>"  # after the traceback


def _settle():
    # A bytecode back-jump, so a KeyboardInterrupt still pending after the
    # code finished is raised here, inside the caller's try.
    for _ in (0,):
        pass


@micropython.native
def run(con, fn, arg, g, raw):
    # fn(arg, g) compiles and runs; it is called with Ctrl-C armed only
    # around the execution (arming is done by fn through con).  raw: frame
    # the output for the raw REPL and write its next prompt.
    try:
        fn(con, arg, g)
        con.disarm()
        _settle()
    except fw_machine.HardReset as e:
        con.disarm()
        raise e
    except SystemExit:
        con.disarm()
        if raw:
            con.write(_RAW_END, 2)  # no prompt: the board soft-resets
        return FORCED_EXIT
    except BaseException as e:
        con.disarm()
        if raw:
            con.write(_EOF)
        print_exception(e)
        if raw:
            con.write(_RAW_ERROR_END)
        return NORMAL
    if raw:
        con.write(_RAW_END)
    return NORMAL


@micropython.native
def exec_buffer(con, src, g):
    # src: a view of the source bytes; the copy to str is on the heap, so a
    # MemoryError here is the user's, reported like any other.
    code = compile(str(src, "utf-8"), "<stdin>", "exec")
    con.arm()
    exec(code, g)


@micropython.native
def exec_codes(con, codes, g):
    # A list of already compiled code objects (REPL input, paste mode).
    con.arm()
    for c in codes:
        exec(c, g)


@micropython.native
def exec_file(con, path, g):
    con.arm()
    execfile(path, g)  # noqa: F821 - a builtin of the core
