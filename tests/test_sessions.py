"""Every session is a fresh board; one clock; user code runs in __main__
(issue 15, DESIGN.md decisions 10 and 11).  Real boards through their pty:
the raw REPL client, mpremote, rshell and upstream's run-tests.py."""
from __future__ import annotations

import ast
import os
import re
import subprocess
import sys
import tarfile
import time
from pathlib import Path

import pytest

from conftest import Terminal, mpremote
from test_ampy_rshell import rshell

from vpyb.protocol.constants import RAW_PROMPT, SOFT_REBOOT
from vpyb.protocol.raw_repl import RawRepl

BANNER_END = b'Type "help()" for more information.\r\n>>> '
# MicroPython's source at the core's commit (/work/shared/upstream/README.md):
# upstream's tests and micropython-lib's unittest come from it.
SNAPSHOT = Path(os.environ.get("VPYB_UPSTREAM_SNAPSHOT",
                               "/work/shared/upstream/micropython-13303f8d29.tar.xz"))

# The heap as a session's user sees it: free bytes, mem_info(1) (block map
# included) and the largest bytearray that can be allocated (bisected).
FIGURES = """\
import gc, micropython
gc.collect()
print(gc.mem_free())
micropython.mem_info(1)
lo, hi = 0, 110000
while hi - lo > 1:
    mid = (lo + hi) // 2
    try:
        b = bytearray(mid)
        lo = mid
    except MemoryError:
        hi = mid
    b = None
    gc.collect()
print(lo)
"""

# What sessions leave behind before the soft reset that ends them.
NAMES = "exec(';'.join('n{s}_%d = %d' % (i, i) for i in range(300)))\nassert n{s}_299 == 299"
FULL_HEAP = """\
hog = []
for size in (4096, 256, 16, 1):
    try:
        while True:
            hog.append(bytearray(size))
    except MemoryError:
        pass
"""
LOCKED_HEAP = "import micropython\nmicropython.heap_lock()"
IRQS = """\
import machine, pyb
seen = bytearray(2)
def edge(pin):
    seen[0] = 1
def tick(timer):
    seen[1] = 1
x2 = machine.Pin('X2', machine.Pin.IN)
x2.irq(edge, machine.Pin.IRQ_RISING | machine.Pin.IRQ_FALLING)
x1 = machine.Pin('X1', machine.Pin.OUT)
for _ in range(4):
    x1.value(not x1.value())
timer = pyb.Timer(4, freq=1000, callback=tick)
start = pyb.millis()
while not seen[1] and pyb.elapsed_millis(start) < 2000:
    pyb.delay(1)
print(bytes(seen))
"""
POKE_FIRMWARE = """\
import builtins, machine, os, pyb, sys
pyb.RTC().datetime((2031, 5, 6, 2, 7, 8, 9, 0))
pyb.main('elsewhere.py')
os.chdir('/')
sys.path.insert(0, '/nowhere')
sys.modules['planted'] = sys
builtins.len = lambda x: -1
builtins.print = lambda *a, **k: None
"""
# ...and what the next session must find: the firmware as power-on left it.
PRISTINE = """\
import os, sys
print(sys.path, len('ab'), 'planted' in sys.modules, os.getcwd())
"""
PRISTINE_OUT = b"['', '.frozen', '/flash', '/flash/lib'] 2 False /flash\r\n"
IMPORTS = "import asyncio, json, re, collections, struct, binascii, random"
JUMPER = '[[jumper]]\npins = ["X1", "X2"]\n'


def soft_reset(repl: RawRepl) -> None:
    """Ctrl-D at the raw prompt: the board comes back to a raw prompt."""
    repl.serial.write(b"\x04")
    repl.read_until(SOFT_REBOOT)
    repl.read_until(RAW_PROMPT)


def figures(repl: RawRepl) -> str:
    out = repl.exec(FIGURES).decode()
    # Every line counts but the pool's address (each core has its own).
    return re.sub(r"GC memory layout; from [0-9a-f]+:", "GC memory layout:", out)


def friendly_session(repl: RawRepl, soft: bool) -> None:
    """Into a session begun at the friendly prompt (a soft reset there, or
    power-on), then to the raw REPL, by the same keys every time."""
    if soft:
        repl.serial.write(b"\r\x02")
        repl.read_until(BANNER_END)
        repl.serial.write(b"\x04")
        repl.read_until(SOFT_REBOOT)
        repl.read_until(BANNER_END)
    repl.serial.write(b"\r\x01")
    repl.read_until(RAW_PROMPT)


def host_said(board) -> list[str]:
    """What the board's host logged once it was up (its stderr)."""
    return [line for line in board.stderr_text.splitlines()
            if not line.startswith("vpyb: core confined")]


def session_code(n: int) -> str:
    kinds = (NAMES.format(s=n), FULL_HEAP, LOCKED_HEAP, IRQS, POKE_FIRMWARE, PRISTINE, IMPORTS)
    return kinds[n % len(kinds)]


@pytest.mark.parametrize("resets", [
    200,
    pytest.param(1000, marks=pytest.mark.slow),
])
def test_soft_resets_after_any_user_code_end_with_the_heap_of_power_on(start_board, tmp_path, resets):
    (tmp_path / "board.toml").write_text(JUMPER)
    board = start_board("--ephemeral", "--board", str(tmp_path / "board.toml"))
    with RawRepl(board.port) as repl:
        friendly_session(repl, soft=False)
        first = figures(repl)
        t0 = time.perf_counter()
        for n in range(resets):
            code = session_code(n)
            out = repl.exec(code)
            if code is IRQS:
                assert out == b"b'\\x01\\x01'\r\n"  # both handlers ran; the timer runs on into the reset
            elif code is PRISTINE:
                assert out == PRISTINE_OUT
            soft_reset(repl)
        elapsed = time.perf_counter() - t0
        friendly_session(repl, soft=True)
        last = figures(repl)
    print(f"{resets} soft resets with user code between them: {resets / elapsed:.1f} per second")
    assert last == first
    board.stop()
    assert host_said(board) == [], board.stderr_text


def test_a_full_or_locked_heap_left_in_the_raw_repl_still_soft_resets(board):
    with RawRepl(board.port) as repl:
        repl.enter()
        for code in (FULL_HEAP, LOCKED_HEAP, "import micropython\n" + FULL_HEAP + "micropython.heap_lock()",
                     LOCKED_HEAP + "\nmicropython.heap_lock()",  # twice
                     "import micropython\nmicropython.heap_unlock()"):  # once more than locked
            repl.exec(code)
            soft_reset(repl)
            assert repl.eval("__import__('machine').reset_cause()") == 0  # machine.SOFT_RESET
    board.stop()
    assert host_said(board) == [], board.stderr_text


def test_a_firmware_fault_is_a_hard_reset_with_one_line_and_the_board_comes_back(board):
    # A firmware bug user code can reach: the friendly REPL allocates before
    # it unlocks the heap, so a heap locked in the raw REPL faults it.
    with RawRepl(board.port) as repl:
        repl.enter()
        repl.exec(LOCKED_HEAP)
        repl.serial.write(b"\x02")
        out = repl.read_until(b"MPY: firmware error, hard reset\r\n")
        out = repl.read_until(BANNER_END)  # the new core's
        assert out.startswith(b"MicroPython v"), out
        repl.enter()
        assert repl.eval("__import__('machine').reset_cause()") == 2  # machine.HARD_RESET
    board.stop()
    assert host_said(board) == ["vpyb: firmware fault, hard reset: "
                                "MemoryError: memory allocation failed, heap is locked"], board.stderr_text


# --- one clock ---------------------------------------------------------------
ASYNCIO = """\
import asyncio, time
async def nap(ms):
    await asyncio.sleep_ms(ms)
    return ms
async def main():
    t0 = time.ticks_ms()
    done = await asyncio.gather(nap(30), nap(10), nap(20))
    try:
        await asyncio.wait_for(nap(5000), 0.05)
    except asyncio.TimeoutError:
        done.append('timed out')
    return done, time.ticks_diff(time.ticks_ms(), t0)
print(asyncio.run(main()))
"""
# The core's own C ticks, as its asyncio scheduler reads them: a task
# pushed with no key is keyed by them (extmod/modasyncio.c).
C_TICKS = """\
import _asyncio, time
async def f():
    pass
q = _asyncio.TaskQueue()
t = _asyncio.Task(f())
a = time.ticks_ms()
q.push(t)
b = time.ticks_ms()
print(a, t.ph_key, b)
"""


def test_asyncio_runs_on_the_boards_clock(board):
    with RawRepl(board.port) as repl:
        repl.enter()
        a, c_ticks, b = map(int, repl.exec(C_TICKS).split())
        assert a <= c_ticks <= b  # time.ticks_ms() and the core's own ticks are one clock
        t0 = time.monotonic()
        out = repl.exec(ASYNCIO)
        took_host = time.monotonic() - t0
    done, took = ast.literal_eval(out.decode())
    assert done == [30, 10, 20, "timed out"]
    assert 80 <= took < 500, took  # 30 ms, then the 50 ms timeout
    assert took_host < 1.0


def test_ticks_count_from_power_on_across_soft_resets_and_restart_at_a_hard_reset(board):
    ticks = "print(__import__('time').ticks_ms())"
    with RawRepl(board.port) as repl:
        repl.enter()
        at_first_prompt = int(repl.exec(ticks))
        assert 0 <= at_first_prompt < 2000
        time.sleep(max(0, (1500 - at_first_prompt) / 1000))
        soft_reset(repl)
        after_soft = int(repl.exec(ticks))
        assert after_soft >= 1500  # it went on counting
        repl.serial.write(b"import machine; machine.reset()\x04")
        repl.read_until(b"OK")
        repl.read_until(BANNER_END)
        repl.enter()
        after_hard = int(repl.exec(ticks))
        assert after_hard < 1000 < after_soft  # a new power-on
        kind = repl.exec("import time\nprint(type(time.time()).__name__, time.localtime()[0])").split()
    assert kind == [b"int", str(time.gmtime().tm_year).encode()]


FILE_TIMES = """\
import os, time
with open('stamped.txt', 'w') as f:
    f.write('now')
st = os.stat('stamped.txt')
print(st[7] - time.time(), st[8] - time.time(), st[9] - time.time(), time.localtime(st[8])[0])
"""


@pytest.mark.parametrize("fs", ["fat", "littlefs"])
def test_file_times_are_the_boards_time(start_board, fs):
    board = start_board("--ephemeral", "--fs", fs)
    year = time.gmtime().tm_year
    with RawRepl(board.port) as repl:
        repl.enter()
        *deltas, y = map(int, repl.exec(FILE_TIMES).split())
        assert all(-3 <= d <= 1 for d in deltas) and y == year, (deltas, y)
        # Set ahead, the RTC dates the files written since.
        repl.exec("import pyb\npyb.RTC().datetime((2031, 5, 6, 2, 7, 8, 9, 0))")
        *deltas, y = map(int, repl.exec(FILE_TIMES).split())
        assert all(-3 <= d <= 1 for d in deltas) and y == 2031, (deltas, y)


def test_rshell_ls_dates_files_today(board):
    mpremote(board.port, "exec", "open('today.txt', 'w').write('x')")
    line = [ln for ln in rshell(board.port, "ls", "-l", "/flash").splitlines() if "today.txt" in ln]
    assert len(line) == 1
    # Within six months rshell shows the time, not the year: "Nov 29 21:31".
    assert time.strftime("%b %d ").replace(" 0", "  ") in line[0]
    assert re.search(r" \d\d:\d\d today.txt$", line[0]), line[0]


def test_the_rtc_keeps_its_setting_across_soft_and_hard_resets(board):
    with RawRepl(board.port) as repl:
        repl.enter()
        repl.exec("import pyb\npyb.RTC().datetime((2031, 5, 6, 2, 7, 8, 9, 0))")
        soft_reset(repl)
        assert repl.eval("__import__('pyb').RTC().datetime()[:5]") == (2031, 5, 6, 2, 7)
        repl.serial.write(b"import machine; machine.reset()\x04")
        repl.read_until(BANNER_END)
        repl.enter()
        assert repl.eval("__import__('pyb').RTC().datetime()[:5]") == (2031, 5, 6, 2, 7)
        assert repl.eval("__import__('time').localtime()[0]") == 2031


# --- __main__ ----------------------------------------------------------------
def test_code_runs_in_main_at_the_repl_raw_repl_run_and_main_py(board, tmp_path):
    t = Terminal(board.port)
    try:
        t.write(b"\r\x03")
        t.read_until(b">>> ")
        t.read_for(0.05)  # past the banner's prompt, if it is still coming
        t.exchange(b"at_repl = 1\r", b">>> ")
        out = t.exchange(b"import __main__; __main__.at_repl, __name__\r", b">>> ")
        assert b"(1, '__main__')" in out
    finally:
        t.close()
    with RawRepl(board.port) as repl:
        repl.enter()
        assert repl.eval("[__import__('__main__').at_repl, __name__]") == [1, "__main__"]
        repl.exec("in_raw = 2")
        assert repl.eval("__import__('__main__').in_raw") == 2
        # main.py runs in __main__ too: its globals are the REPL's.
        repl.exec("with open('main.py', 'w') as f:\n"
                  "    f.write('import __main__\\nfrom_main = (__name__, __main__.__dict__ is globals())\\n')")
    script = tmp_path / "script.py"
    script.write_text("import __main__\nby_run = 3\nprint(__name__, __main__.by_run)\n")
    assert mpremote(board.port, "run", str(script)).stdout == "__main__ 3\n"
    t = Terminal(board.port)
    try:
        t.write(b"\r\x03\r\x02")
        t.read_until(BANNER_END)
        t.write(b"\x04")  # a soft reset at the friendly prompt runs main.py
        t.read_until(BANNER_END)
        assert b"('__main__', True)" in t.exchange(b"from_main\r", b">>> ")
    finally:
        t.close()


@pytest.fixture(scope="module")
def upstream(tmp_path_factory) -> Path:
    """MicroPython's tests, tools and micropython-lib's unittest, unpacked."""
    if not SNAPSHOT.exists():
        pytest.skip(f"no MicroPython source snapshot at {SNAPSHOT} (set VPYB_UPSTREAM_SNAPSHOT)")
    where = tmp_path_factory.mktemp("upstream")
    wanted = ("micropython/tests/", "micropython/tools/pyboard.py",
              "micropython/lib/micropython-lib/python-stdlib/unittest/unittest/")
    safe = {"filter": "data"} if hasattr(tarfile, "data_filter") else {}
    with tarfile.open(SNAPSHOT) as tar:
        tar.extractall(where, members=[m for m in tar.getmembers() if m.name.startswith(wanted)],
                       **safe)
    return where / "micropython"


UNIT_TESTS = """\
import unittest


class Arithmetic(unittest.TestCase):
    def test_adds(self):
        self.assertEqual(1 + 1, 2)

    def test_multiplies_wrong(self):
        self.assertEqual(6 * 7, 41)


if __name__ == "__main__":
    unittest.main()
"""


def test_unittest_main_finds_and_runs_the_tests_of_a_script(board, upstream, tmp_path):
    # Where `mip install unittest` puts it on a Pyboard: /flash/lib.
    package = upstream / "lib/micropython-lib/python-stdlib/unittest/unittest/__init__.py"
    mpremote(board.port, "mkdir", ":/flash/lib", "+", "mkdir", ":/flash/lib/unittest", "+",
             "cp", str(package), ":/flash/lib/unittest/__init__.py")
    script = tmp_path / "test_arith.py"
    script.write_text(UNIT_TESTS)
    out = mpremote(board.port, "run", str(script)).stdout
    assert "test_adds (__main__.Arithmetic) ... ok" in out
    assert "test_multiplies_wrong (__main__.Arithmetic) ... FAIL" in out
    assert "AssertionError: 42 vs (expected) 41" in out
    assert "Ran 2 tests" in out and "FAILED (failures=1, errors=0)" in out


def test_upstream_asyncio_tests_pass_on_the_board(board, upstream, tmp_path):
    tests = upstream / "tests"
    r = subprocess.run([sys.executable, "run-tests.py", "-t", board.port, "-d", "extmod",
                        "-i", "asyncio", "-r", str(tmp_path / "results")],
                       cwd=tests, capture_output=True, text=True, timeout=110,
                       env={**os.environ, "MICROPY_CPYTHON3": sys.executable})
    performed = re.search(r"^(\d+) tests performed", r.stdout, re.M)
    passed = re.search(r"^(\d+) tests passed", r.stdout, re.M)
    assert r.returncode == 0, r.stdout
    assert performed and passed and int(passed.group(1)) == int(performed.group(1)) >= 30, r.stdout
