"""The host trusts nothing from the core (DESIGN.md decisions 9 and 10).

Each attack is made from user code on a board started as users start it
(`vpyb run`), through its pty, and the test asserts what the board does:
forged side-channel frames, a timer faster than the board, a core that
cannot start, a main.py that crashes the core on every boot.
"""
from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import BoardProcess, Terminal
from vpyb.device.board import BoardError, VirtualBoard
from vpyb.protocol.raw_repl import RawRepl

BANNER = b'Type "help()" for more information.\r\n>>> '


def prompt(board: BoardProcess) -> Terminal:
    t = Terminal(board.port)
    t.write(b"\r\x03")
    t.read_until(b">>> ")
    t.read_for(0.05)
    return t


def say(t: Terminal, line: bytes) -> bytes:
    """One line at the friendly prompt; what it printed."""
    return t.exchange(line + b"\r", b">>> ")[len(line) + 2:-4]


def paste(t: Terminal, code: bytes) -> bytes:
    """Code of several lines, in paste mode; the echo and what it printed."""
    return t.exchange(b"\x05" + code.replace(b"\n", b"\r") + b"\x04", b">>> ")


def logged(board: BoardProcess) -> str:
    """What the running board has logged so far."""
    os.set_blocking(board.proc.stderr.fileno(), False)
    return (board.proc.stderr.read() or b"").decode()


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def open_side_channel(t: Terminal) -> None:
    """Binds `side` on the board to a writer on the firmware's request fd, as
    an attacker would, and `frame(kind, payload)` to a well-framed request.
    The route: the firmware's own writer, in the globals of a firmware
    function user code holds (time.sleep_ms is fw_side.wait_ms)."""
    out = say(t, b"import struct, time; g = time.sleep_ms.__globals__; "
                 b"side = g['_write'] if '_write' in g else g['_out'].write")
    if out:
        pytest.skip(f"user code can't reach the side channel any more: {out!r}")
    say(t, b"frame = lambda kind, p: struct.pack('<HBB', len(p) + 2, kind, 0) + p")


# --- 1. the side channel ---------------------------------------------------
def test_requests_whose_replies_are_never_read_reset_the_board(start_board):
    board = start_board("--ephemeral")
    t = prompt(board)
    open_side_channel(t)
    say(t, b"spi = frame(3, b'\\x01' + bytes(1023))")  # an SPI transfer: a 1 KB reply each
    t0 = time.monotonic()
    # Before: the host blocked in sendall() on the full socket, and with it
    # the byte pump: no prompt, Ctrl-C not delivered, only kill -9 helped.
    t.write(b"while True: side(spi)\r\r")
    t.read_until(BANNER, timeout=5)
    assert time.monotonic() - t0 < 2
    assert say(t, b"6*7") == b"42\r\n"
    assert say(t, b"import machine; machine.I2C(1).scan()") == b"[]\r\n"  # the channel works
    t.close()
    log = logged(board)
    assert log.count("side channel:") == 1, log
    assert "leaves their replies unread; resetting the board" in log


BAD_REQUESTS = [
    b"(200, b'')",  # no such kind
    b"(2, b'\\x01')",  # an I2C transfer, too short
    b"(2, bytes([22, 23, 0x50, 0x30, 0x75]))",  # an I2C read of 30000 bytes
    b"(4, b'\\x09hi')",  # a write to UART(9)
    b"(5, b'\\x07' + bytes(8))",  # UART(7) set up
    b"(7, b'\\x01')",  # a timer, too short
    b"(7, b'\\xc8\\x00\\x01\\x00\\x00\\x00')",  # timer 200 every microsecond
    b"(8, b'xx')",  # a prompt with a payload
]


def test_malformed_requests_are_refused_and_a_broken_framing_resets(start_board):
    board = start_board("--ephemeral")
    t = prompt(board)
    open_side_channel(t)
    say(t, b"bad = [" + b", ".join(BAD_REQUESTS) + b"]")
    t0 = time.monotonic()
    out = paste(t, b"for i in range(50):\n    for k, p in bad: n = side(frame(k, p))")
    assert b"MicroPython v" not in out  # no reset: refused, answered empty
    assert time.monotonic() - t0 < 2
    assert say(t, b"6*7") == b"42\r\n"
    assert say(t, b"import machine; machine.I2C(1).scan()") == b"[]\r\n"
    # A length no frame has: the stream can't be split any more.
    t.write(b"side(b'\\xff\\xff')\r")
    t.read_until(BANNER, timeout=5)
    assert say(t, b"6*7") == b"42\r\n"
    t.close()
    log = logged(board)
    refused = [line for line in log.splitlines() if "bad request from the core" in line]
    assert 1 <= len(refused) <= 5, log  # 400 refused, a few lines said
    assert "side channel: bad frame length 65535; resetting the board" in log


# --- 2. event sources ----------------------------------------------------
def test_a_1mhz_timer_leaves_the_host_idle_and_ctrl_c_ctrl_d_working(start_board):
    board = start_board("--ephemeral")
    t = prompt(board)
    say(t, b"import pyb; n = [0]")
    say(t, b"def tick(t): n[0] += 1\r")
    # Before: the host ticked as fast as it could (100 % CPU) and the board's
    # event queue never emptied, so it read no input: Ctrl-C and Ctrl-D lost.
    say(t, b"tim = pyb.Timer(4, freq=1000000, callback=tick)")
    cpu = cpu_seconds(board.proc.pid)
    say(t, b"n[0] = 0")
    time.sleep(1)
    ticks = int(say(t, b"n[0]"))
    assert 100 < ticks < 1200  # at most 1000 callbacks a second (hardware.TIMER_MIN_PERIOD)
    assert cpu_seconds(board.proc.pid) - cpu < 0.5
    t0 = time.monotonic()
    t.write(b"\x03")
    t.read_until(b">>> ", timeout=1)
    t.write(b"while True: pass\r\r")  # busy code with the timer on
    time.sleep(0.3)
    t.write(b"\x03")
    assert b"KeyboardInterrupt" in t.read_until(b">>> ", timeout=1)
    t.write(b"\x04")
    t.read_until(b"MPY: soft reboot", timeout=1)
    t.read_until(b">>> ", timeout=1)
    assert time.monotonic() - t0 < 3
    t.read_for(0.1)
    assert say(t, b"import pyb; pyb.Timer(4)") == b"Timer(4)\r\n"  # stopped by the soft reset
    t.close()


def test_a_timer_callback_slower_than_its_period_leaves_input_working(start_board):
    board = start_board("--ephemeral")
    t = prompt(board)
    say(t, b"import pyb, time")
    paste(t, b"def slow(t):\n"
             b"    s = time.ticks_us()\n"
             b"    while time.ticks_diff(time.ticks_us(), s) < 3000: pass")
    say(t, b"tim = pyb.Timer(4, freq=1000, callback=slow)")  # 3 ms of work every 1 ms
    time.sleep(0.5)
    t0 = time.monotonic()
    assert say(t, b"6*7") == b"42\r\n"
    t.write(b"\x04")
    t.read_until(b"MPY: soft reboot", timeout=1)
    t.read_until(b">>> ", timeout=1)
    assert time.monotonic() - t0 < 2
    t.close()


# --- 3. a core that can't start, a core that keeps crashing ------------------
BAD_CORE = """#!/bin/sh
# A unix-port "binary" that answers vpyb's arch probe and can't run a board.
case "$2" in *_mpy*) exec {micropython} "$@";; esac
echo boot >> {boots}
echo "bad core: no heap for you" >&2
exit 1
"""


@pytest.fixture
def bad_core(tmp_path) -> tuple[Path, Path]:
    boots = tmp_path / "boots"
    binary = tmp_path / "micropython"
    binary.write_text(BAD_CORE.format(micropython=Path(sys.executable).with_name("micropython"),
                                      boots=boots))
    binary.chmod(0o755)
    return binary, boots


def test_a_core_that_cannot_start_is_retried_with_backoff_then_reported(bad_core):
    binary, boots = bad_core
    t0 = time.monotonic()
    # Unconfined, so that the bad core may count its boots in a host file.
    r = subprocess.run([sys.executable, "-m", "vpyb.host_tools.cli", "run", "--ephemeral",
                        "--unconfined", "--micropython", str(binary)],
                       capture_output=True, text=True, timeout=30)
    elapsed = time.monotonic() - t0
    # Before: 12-21 restarts a second, a traceback each, for ever.
    assert r.returncode == 1
    assert len(boots.read_text().split()) == 10  # restarts.GIVE_UP
    assert 1.0 < elapsed < 10
    assert "bad core: no heap for you" in r.stderr.splitlines()[-1]
    assert len(r.stderr.splitlines()) <= 5, r.stderr


def test_virtual_board_start_raises_the_reason(bad_core):
    binary, _ = bad_core
    logs: list[str] = []
    board = VirtualBoard(ephemeral=True, micropython=str(binary), log=logs.append)
    with pytest.raises(BoardError, match="cannot start .*bad core: no heap for you"):
        board.start()
    assert len(logs) <= 3, logs


FLAKY_CORE = """#!/bin/sh
# A unix-port "binary" that runs a board only while a file says it may.
case "$2" in *_mpy*) exec {micropython} "$@";; esac
[ -e {works} ] && exec {micropython} "$@"
echo "bad core: not today" >&2
exit 1
"""


def test_a_running_board_whose_core_stops_starting_gives_up_until_a_hard_reset(tmp_path):
    works = tmp_path / "works"
    works.touch()
    binary = tmp_path / "micropython"
    binary.write_text(FLAKY_CORE.format(micropython=Path(sys.executable).with_name("micropython"),
                                        works=works))
    binary.chmod(0o755)
    failures: list[str] = []
    # Unconfined: a confined core may not look at host files.
    board = VirtualBoard(ephemeral=True, micropython=str(binary), confine=False,
                         log=lambda line: None, on_fail=failures.append).start()
    try:
        works.unlink()
        board.hard_reset()
        deadline = time.monotonic() + 10
        while not failures and time.monotonic() < deadline:
            time.sleep(0.05)
        assert failures and failures[0].endswith("bad core: not today")
        assert board.failure == failures[0] and not board.wait_prompt(0)
        works.touch()
        board.hard_reset()  # the reset button: it tries again
        assert board.wait_prompt(5)
        with RawRepl(board.port) as repl:
            repl.enter()
            assert repl.eval("6*7") == 42
    finally:
        board.stop()


MAIN_CRASHES = b"""with open('main.py', 'w') as f: f.write('''
@micropython.viper
def boom():
    ptr32(8)[0] = 1
boom()
''')"""


def test_a_main_py_that_crashes_every_boot_is_restarted_with_backoff(start_board, tmp_path):
    board = start_board("--state", str(tmp_path / "board"))
    t = prompt(board)
    paste(t, MAIN_CRASHES)
    t.write(b"import machine; machine.reset()\r")
    time.sleep(2.5)
    cpu = cpu_seconds(board.proc.pid)
    time.sleep(1.5)
    assert cpu_seconds(board.proc.pid) - cpu < 0.3  # one restart a second by now
    assert board.proc.poll() is None  # still serving its port
    t.close()
    log = logged(board)
    crashes = [line for line in log.splitlines() if "core crashed (SIGSEGV)" in line]
    assert len(crashes) == 2, log  # the 1st and the 10th of ~12, not each
    assert "10 times in a row without reaching a prompt" in crashes[1]
