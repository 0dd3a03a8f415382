"""A run never hangs on a crash: a client waiting on a raw-REPL run when the
core dies or the board resets sees that run end with an error naming why
(device/raw_runs.py), within a second, and the board is usable after."""
from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import Terminal, mpremote
from vpyb.protocol.raw_repl import BoardReset, RawRepl

BIN = Path(sys.executable).parent
# A write through a wild pointer: the core dies with SIGSEGV, as a board would fault.
VIPER_CRASH = "@micropython.viper\ndef f():\n    p = ptr32(8)\n    p[0] = 1\n"
CRASH = "print('before')\n" + VIPER_CRASH + "f()\n"
RAW = b"raw REPL; CTRL-B to exit\r\n>"


def timed_mpremote(port: str, *args: str) -> tuple[subprocess.CompletedProcess, float]:
    t = time.monotonic()
    r = mpremote(port, *args, check=False, timeout=20)
    return r, time.monotonic() - t


@pytest.mark.parametrize("code, why", [(CRASH, "core crashed (SIGSEGV): hard reset"),
                                       ("print('before')\nimport machine\nmachine.reset()",
                                        "hard reset")], ids=["viper-crash", "machine.reset"])
def test_mpremote_exec_ends_with_the_reason(board, code, why):
    r, took = timed_mpremote(board.port, "exec", code)
    assert r.returncode == 1
    assert took < 3  # mpremote's own start-up included
    assert r.stdout == f"before\nvpyb: {why}\n"
    assert mpremote(board.port, "exec", "print('alive')").stdout == "alive\n"


def test_mpremote_run_of_a_crashing_script(board, tmp_path):
    script = tmp_path / "crash.py"
    script.write_text(CRASH)
    r, took = timed_mpremote(board.port, "run", str(script))
    assert (r.returncode, r.stdout) == (1, "before\nvpyb: core crashed (SIGSEGV): hard reset\n")
    assert took < 3
    assert mpremote(board.port, "exec", "print(6 * 7)").stdout == "42\n"


def test_ampy_classic_raw_repl_run(board, tmp_path):
    # ampy submits with the classic raw REPL (OK, then the output).
    script = tmp_path / "crash.py"
    script.write_text(CRASH)
    r = subprocess.run([str(BIN / "ampy"), "-p", board.port, "run", str(script)],
                       capture_output=True, text=True, timeout=20)
    assert r.returncode != 0
    assert "vpyb: core crashed (SIGSEGV): hard reset" in r.stdout + r.stderr


@pytest.mark.parametrize("raw_paste", [True, False], ids=["raw-paste", "classic"])
def test_raw_repl_raises_board_reset_and_enters_again(board, raw_paste):
    with RawRepl(board.port) as repl:
        repl.enter()
        repl.use_raw_paste = raw_paste
        t = time.monotonic()
        with pytest.raises(BoardReset, match=r"^vpyb: core crashed \(SIGSEGV\): hard reset$"):
            repl.exec(CRASH)
        assert time.monotonic() - t < 1
        assert not repl.in_raw  # the new core is at its friendly REPL
        repl.enter()
        assert repl.exec("print(6 * 7)") == b"42\r\n"
        # A core dying in a timer callback while the run sleeps, output kept.
        out, err = repl.exec_raw("import pyb, time\n" + VIPER_CRASH.replace("f():", "f(t):")
                                 + "print('armed')\npyb.Timer(1, freq=20, callback=f)\ntime.sleep(5)")
        assert (out, err) == (b"armed\r\n", b"vpyb: core crashed (SIGSEGV): hard reset\r\n")
        repl.enter()
        assert repl.eval("__import__('machine').reset_cause() == __import__('machine').HARD_RESET")


def test_banner_follows_the_ended_run(board):
    t = Terminal(board.port)
    t.write(b"\r\x03\r\x01")
    t.read_until(RAW)
    t.write(CRASH.encode() + b"\x04")
    out = t.read_until(b">>> ", timeout=3)
    assert out.startswith(b"OKbefore\r\n\x04vpyb: core crashed (SIGSEGV): hard reset\r\n\x04>")
    assert b"MicroPython v" in out and out.endswith(b'for more information.\r\n>>> ')
    t.close()


def test_friendly_repl_crash_is_unchanged(board):
    # No raw run: the banner alone, as before.
    t = Terminal(board.port)
    t.write(b"\r\x03")
    t.read_until(b">>> ")
    t.read_for(0.05)
    t.write(b"import machine; machine.reset()\r")
    out = t.read_until(b">>> ", timeout=3)
    assert b"vpyb:" not in out and b"\x04" not in out and b"MicroPython v" in out
    t.close()


def test_host_reset_mid_raw_paste_ends_the_transfer(board_factory):
    # The host resets the board while a client is halfway through sending its
    # code: the transfer ends early (\x04, as for a compile error), then the
    # run's framing; what the client still sends before its \x04 is dropped,
    # not typed into the new core's friendly REPL.
    vb = board_factory().virtual
    t = Terminal(vb.port)
    t.write(b"\r\x03\r\x01")
    t.read_until(RAW)
    t.write(b"\x05A\x01")
    assert t.read_n(5) == b"R\x01\x80\x00\x01"
    t.write(b"x = 1\n" * 10)
    time.sleep(0.05)
    vb.hard_reset()
    assert t.read_until(b"\x04>", timeout=1) == b"\x04\x04vpyb: hard reset\r\n\x04>"
    time.sleep(0.1)  # the new core is up: without the drop this would run there
    t.write(b"print('LEAK' * 2)\r\x04")
    out = t.read_until(b">>> ", timeout=3) + t.read_for(0.3)
    assert b"LEAK" not in out
    t.write(b"\r\x01")
    t.read_until(RAW)
    t.write(b"print(6 * 7)\x04")
    assert t.read_until(b"\x04>") == b"OK42\r\n\x04\x04>"
    t.close()


def test_power_cut_mid_run(board_factory):
    handle = board_factory()
    with RawRepl(handle.port) as repl:
        repl.enter()
        repl.exec_raw("print('up')")
        repl.serial.write(b"\x05A\x01")  # a run that is still sleeping when the power goes
        assert repl.reader.read_exactly(5) == b"R\x01\x80\x00\x01"
        repl.serial.write(b"import time\ntime.sleep(5)\x04")
        assert repl.reader.read_exactly(1) == b"\x04"
        handle.virtual.power_cut()
        assert repl.reader.read_until(b"\x04>", timeout=1) == b"\x04vpyb: power cut\r\n\x04>"
