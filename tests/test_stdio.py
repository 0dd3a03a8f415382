"""The board's stdio as a PYBv1.1's (shared/runtime/sys_stdio_mphal.c): text
out is cooked (each \\n leaves as \\r\\n), sys.stdout.buffer writes bytes as
given whatever buffer holds them, input comes as it was typed (sys.stdin
reads \\r as \\n), and the objects are the board's TextIOWrapper and FileIO.
Through a real board: raw REPL runs fed with input on the wire, and
mpremote's mount, whose protocol is binary both ways."""
from __future__ import annotations

import ast

import pytest

from conftest import mpremote
from vpyb.protocol.raw_repl import RawRepl

_GO = b"\x06"  # what the code prints once it is reading


def run(port: str, code: str, data: bytes = b"", after: bytes = _GO) -> tuple[bytes, bytes]:
    """Runs code at the raw REPL; once it has printed `after` (_GO, which
    it prints first, by default), `data` is typed.  Returns the raw bytes
    it wrote (after _GO) and its error text."""
    with RawRepl(port) as rr:
        rr.enter()
        seen = bytearray()

        def feed(chunk: bytes) -> None:
            if after not in seen:
                seen.extend(chunk)
                if after in seen:
                    rr.serial.write(data)

        out, err = rr.exec_raw("import sys\nsys.stdout.buffer.write(%r)\n%s" % (_GO, code), feed)
    assert out[:1] == _GO, (out, err)
    return out[1:], err


def values(port: str, expression: str, data: bytes = b""):
    out, err = run(port, "print(repr(%s))" % expression, data)
    assert not err, err.decode()
    return ast.literal_eval(out.decode())


def test_binary_output_is_written_as_given_whatever_holds_it(board):
    out, err = run(board.port, (
        "from array import array\n"
        "w = sys.stdout.buffer.write\n"
        "n = (w(b'a\\nb'), w(bytearray(b'c\\nd'), 2), w(memoryview(b'\\r\\ne\\n')[1:]),"
        " w(array('B', b'f\\ng\\n'), 1, 2), w(array('H', [0x0A0D])), w('h\\n'))\n"
        "print(n)\n"))
    assert not err, err.decode()
    assert out == b"a\nbc\n\ne\n\ng\r\nh\n(3, 2, 3, 2, 2, 2)\r\n"


def test_text_output_is_cooked_and_counts_bytes(board):
    out, err = run(board.port, (
        "n = sys.stdout.write('\\u00e9\\n'), sys.stdout.write(b'x\\n'), sys.stderr.write('y\\n')\n"
        "print(n, end='\\n\\n')\n"
        "print('z', file=sys.stdout)\n"
        "print('b', file=sys.stdout.buffer)\n"
        "raise ValueError('line\\nbreak')\n"))
    assert out == "\u00e9\r\nx\r\ny\r\n(3, 2, 2)\r\n\r\nz\r\nb\n".encode()
    assert err == (b'Traceback (most recent call last):\r\n  File "<stdin>", line 7, in <module>\r\n'
                   b"ValueError: line\r\nbreak\r\n")


def test_input_reads_bytes_into_any_buffer_and_text_reads_cr_as_lf(board):
    code = ("from array import array\n"
            "a = array('H', [0, 0])\n"
            "b = bytearray(5)\n"
            "print(repr((sys.stdin.buffer.readinto(a), list(a), sys.stdin.readinto(b, 3), bytes(b),"
            " sys.stdin.read(3), sys.stdin.buffer.read(3), sys.stdin.readline(),"
            " sys.stdin.buffer.readline())))\n")
    out, err = run(board.port, code, b"\x01\x02\x05\x04" + b"a\rb" + b"c\rd" + b"e\rf" + b"gh\rij\n")
    assert not err, err.decode()
    assert ast.literal_eval(out.decode()) == (
        4, [0x0201, 0x0405], 3, b"a\nb\x00\x00", "c\nd", b"e\rf", "gh\n", b"ij\n")


def test_only_ctrl_c_is_special_while_code_runs(board):
    # ^\\ and ^Z are bytes like any other to a running program on a board
    # (the console's tty must not turn them into SIGQUIT or SIGTSTP).
    assert values(board.port, "sys.stdin.buffer.read(4)", b"a\x1c\x1ab") == b"a\x1c\x1ab"


def test_stdio_reads_and_writes_without_allocating(board):
    # As mpremote's mount does, with the heap locked (an IRQ handler's case).
    out, err = run(board.port, (
        "import micropython\n"
        "def f(b):\n"
        "    micropython.heap_lock()\n"
        "    try:\n"
        "        n1 = sys.stdin.buffer.readinto(b, 2)\n"
        "        n2 = sys.stdin.readinto(b, 2)\n"
        "        w1 = sys.stdout.buffer.write(b, 1)\n"
        "        w2 = sys.stdout.buffer.write(b, 1, 1)\n"
        "        w3 = sys.stdout.write(b)\n"
        "    finally:\n"
        "        micropython.heap_unlock()\n"
        "    print((n1, n2), (w1, w2, w3))\n"
        "f(bytearray(2))\n"), b"\n\nx\r")
    assert not err, err.decode()
    assert out == b"x\n" + b"x\r\n" + b"(2, 2) (1, 1, 2)\r\n"


def test_the_stdio_objects_are_the_boards(board):
    assert values(board.port, "(repr(sys.stdin), repr(sys.stdout), repr(sys.stderr), repr(sys.stdin.buffer),"
                              " repr(type(sys.stdout)), repr(type(sys.stdin.buffer)),"
                              " sys.stdin.buffer is sys.stdout.buffer)") == (
        "<io.TextIOWrapper 0>", "<io.TextIOWrapper 1>", "<io.TextIOWrapper 2>", "<io.FileIO 0>",
        "<class 'TextIOWrapper'>", "<class 'FileIO'>", True)
    # Each text stream refuses the other direction, as the board's do, and
    # nothing reads into a buffer that can't be written.
    for code, error in (("sys.stdin.write('x')", b"OSError: [Errno 1] EPERM"),
                        ("print('x', file=sys.stdin)", b"OSError: [Errno 1] EPERM"),
                        ("sys.stdout.read(1)", b"OSError: [Errno 1] EPERM"),
                        ("sys.stderr.readline()", b"OSError: [Errno 1] EPERM"),
                        ("sys.stdin.buffer.readinto(b'ab')", b"TypeError: object with buffer protocol required"),
                        ("sys.stdin.readinto(memoryview(b'ab'))", b"TypeError: object with buffer protocol required")):
        out, err = run(board.port, code)
        assert err.endswith(error + b"\r\n"), (code, err)


def test_a_mount_gets_binary_files_whole_and_survives_a_remove(board, tmp_path):
    # mpremote's mount protocol: command bytes (0x0A is one) and file data
    # go through sys.stdout.buffer; a \r added to either breaks it.
    (tmp_path / "gone.txt").write_text("x")
    blob = bytes(range(256)) * 8
    out = mpremote(board.port, "mount", str(tmp_path), "exec",
                   "import os\n"
                   "with open('blob.bin', 'wb') as f:\n"
                   "    f.write(%r)\n"
                   "os.remove('gone.txt')\n"
                   "print(open('blob.bin', 'rb').read() == %r, os.listdir())" % (blob, blob),
                   timeout=120).stdout
    assert "True ['blob.bin']" in out.splitlines(), out  # (mpremote's own line may come after)
    assert (tmp_path / "blob.bin").read_bytes() == blob
    assert not (tmp_path / "gone.txt").exists()


def test_uname_and_implementation_are_attrtuples(board):
    # extmod/modos.c and py/modsys.c make them in C: a tuple to % and
    # iteration, printed with its field names, each readable by name.
    got = values(board.port, "[(repr(u), repr(type(u)), isinstance(u, tuple), ('%s ' * len(u)) % u, u[-1], "
                             "tuple(u)) for u in (__import__('os').uname(), sys.implementation)] + "
                             "[__import__('os').uname().machine, sys.implementation._machine]")
    uname, impl, machine, impl_machine = got
    assert uname[0].startswith("(sysname='pyboard', nodename='pyboard', release='")
    assert uname[0].endswith(", machine='PYBv1.1 with STM32F405RG')")
    assert uname[1:3] == ("<class 'tuple'>", False)
    assert uname[3] == "".join(v + " " for v in uname[5]) and uname[4] == machine == impl_machine
    assert impl[0].startswith("(name='micropython', version=(") and impl[0].endswith(", _build='PYBV11')")
    assert impl[1:3] == ("<class 'tuple'>", False)


@pytest.mark.parametrize("delta, result", [
    (2**29 - 1, "ok"), (-(2**29 - 1), "ok"),
    (2**29, "ticks interval overflow"), (-(2**29), "ticks interval overflow"),
    (2**31, "overflow converting long int to machine word"),
])
def test_ticks_add_takes_what_ticks_diff_can_give_back(board, delta, result):
    # extmod/modtime.c with a 2**30 period: |delta| < 2**29.
    out, err = run(board.port, (
        "import time\n"
        "t = time.ticks_add(5, %d)\n"
        "print(time.ticks_diff(t, 5) == %d and time.ticks_diff(5, t) == -%d)\n" % (delta, delta, delta)))
    if result == "ok":
        assert (out, err) == (b"True\r\n", b"")
    else:
        assert err.endswith(("OverflowError: %s\r\n" % result).encode())


def test_os_stat_dates_the_cores_filesystems_by_the_board_and_leaves_others_alone(board):
    # /flash (FAT) is dated by the board's clock, since 2000; a filesystem
    # of the user's (or mpremote's mount) returns what its stat() says, as
    # extmod/vfs.c passes it on (upstream extmod/vfs_basic's (1,) included).
    out, err = run(board.port, (
        "import os, time\n"
        "class Fs:\n"
        "    def mount(self, readonly, mkfs): pass\n"
        "    def chdir(self, path): pass\n"
        "    def stat(self, path):\n"
        "        return (1,) if path == '/one' else (0x8000, 0, 0, 0, 0, 0, 0, 5, 6, 7)\n"
        "open('/flash/t.txt', 'w').close()\n"
        "os.chdir('/')\n"
        "flash = os.stat('/flash/t.txt')[8], os.stat('flash/t.txt')[8], time.time()\n"
        "os.mount(Fs(), '/u')\n"
        "mine = os.stat('/u/one'), os.stat('/u/ten')\n"
        "os.chdir('/u')\n"
        "print(repr((flash, mine, os.stat('ten'))))\n"))
    assert not err, err.decode()
    (absolute, relative, now), (one, ten), ten_relative = ast.literal_eval(out.decode())
    assert absolute == relative and now - 2 <= absolute <= now
    assert one == (1,) and ten == ten_relative == (0x8000, 0, 0, 0, 0, 0, 0, 5, 6, 7)


def test_deep_recursion_runs_out_of_stack_before_heap(board):
    # Upstream stress/recursive_iternext: nested iterators evaluated by
    # tuple() recurse in C; on a PYBv1.1 its 15,360-byte stack runs out
    # (RuntimeError) long before its heap.  So must this core's, whose limit
    # mem_info() shows.
    out, err = run(board.port, (
        "import micropython\n"
        "micropython.mem_info()\n"
        "for nest in (enumerate, lambda x: filter(None, x), lambda x: map(max, x, ()), zip):\n"
        "    x = (1, 2)\n"
        "    try:\n"
        "        while True:\n"
        "            for _ in range(10):\n"
        "                x = nest(x)\n"
        "            tuple(x)\n"
        "    except RuntimeError as e:\n"
        "        print(e)\n"))
    assert not err, err.decode()
    lines = out.decode().splitlines()
    assert lines[0].endswith(" out of 32776")
    assert lines[3:] == ["maximum recursion depth exceeded"] * 4


def test_select_takes_streams_as_the_boards_does(board):
    # extmod/modselect.c on stm32: an fd number is not a stream (upstream
    # extmod/select_poll_fd skips on that), and select.select() exists.
    out, err = run(board.port, (
        "import select\n"
        "p = select.poll()\n"
        "for fd in (0, 1, -1):\n"
        "    try:\n"
        "        p.register(fd)\n"
        "    except OSError as e:\n"
        "        print(e)\n"
        "p.register(sys.stdin, select.POLLIN)\n"
        "r, w, x = select.select([sys.stdin], [sys.stdout], [], 0)\n"
        "print(repr((repr(p), p.poll(0), r, w == [sys.stdout], x)))\n"
        "print('?')\n"
        "r, w, x = select.select([sys.stdin], [], [sys.stdin])\n"
        "print(repr((p.poll() == [(sys.stdin, select.POLLIN)], r == [sys.stdin], w, x, sys.stdin.read(1))))\n"),
        b"z", after=b"?")
    assert not err, err.decode()
    lines = out.decode().splitlines()
    assert lines[:3] == ["stream operation not supported"] * 3
    assert ast.literal_eval(lines[3]) == ("<poll>", [], [], True, [])
    assert lines[4] == "?"
    assert ast.literal_eval(lines[5]) == (True, True, [], [], "z")


def test_a_filesystem_of_the_users_dates_files_by_the_board_too(board):
    # Upstream extmod/vfs_lfs_mtime: a VfsLfs2 on a RAM disk, its own stat()
    # against time.time_ns() (the board's, since 2000); modules import
    # from it once mounted.
    out, err = run(board.port, (
        "import os, time, vfs\n"
        "class Ram:\n"
        "    def __init__(self): self.data = bytearray(64 * 512)\n"
        "    def readblocks(self, n, buf, off=0): buf[:] = self.data[n * 512 + off : n * 512 + off + len(buf)]\n"
        "    def writeblocks(self, n, buf, off=0): self.data[n * 512 + off : n * 512 + off + len(buf)] = buf\n"
        "    def ioctl(self, op, arg): return {4: 64, 5: 512, 6: 0}.get(op)\n"
        "ram = Ram()\n"
        "for kind in (vfs.VfsLfs2, vfs.VfsFat):\n"
        "    kind.mkfs(ram)\n"
        "    fs = kind(ram)\n"
        "    vfs.mount(fs, '/ram')\n"
        "    with open('/ram/m.py', 'w') as f:\n"
        "        f.write('X = 7')\n"
        "    sys.path.append('/ram')\n"
        "    import m\n"
        "    print(repr((repr(kind), repr(fs), m.X, time.time() - fs.stat('m.py')[8], time.time() - os.stat('/ram/m.py')[8])))\n"
        "    del sys.modules['m']\n"
        "    sys.path.pop()\n"
        "    vfs.umount('/ram')\n"))
    assert not err, err.decode()
    lfs, fat = (ast.literal_eval(line) for line in out.decode().splitlines())
    assert lfs[:3] == ("<class 'VfsLfs2'>", "<VfsLfs2>", 7) and 0 <= lfs[3] <= 1 and 0 <= lfs[4] <= 1
    assert fat[:3] == ("<class 'VfsFat'>", "<VfsFat>", 7) and 0 <= fat[3] <= 2 and 0 <= fat[4] <= 2  # FAT: 2 s steps
