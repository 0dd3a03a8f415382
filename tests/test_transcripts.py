"""Byte-exact exchanges with the board, asserted against protocol-facts.md
(section numbers in the test names' docstrings)."""
import re
import time

BANNER = rb"MicroPython v\d+\.\d+\.\d+(-preview)? on \d{4}-\d\d-\d\d; PYBv1\.1 with STM32F405RG\r\nType \"help\(\)\" for more information\.\r\n>>> "
RAW = b"raw REPL; CTRL-B to exit\r\n>"


def test_friendly_line_and_echo(term):
    """A.3: echo, value echo, prompt."""
    assert term.exchange(b"1+1\r", b">>> ") == b"1+1\r\n2\r\n>>> "
    assert term.exchange(b"x = 5\r", b">>> ") == b"x = 5\r\n>>> "
    assert term.exchange(b"\r", b">>> ") == b"\r\n>>> "


def test_traceback_format(term):
    """1.10: only the user's frames, KeyboardInterrupt-style ': '."""
    out = term.exchange(b"1/0\r", b">>> ")
    assert out == (b"1/0\r\nTraceback (most recent call last):\r\n"
                   b'  File "<stdin>", line 1, in <module>\r\n'
                   b"ZeroDivisionError: divide by zero\r\n>>> ")
    out = term.exchange(b"raise ValueError\r", b">>> ")
    assert out.endswith(b"ValueError: \r\n>>> ")


def test_enter_raw_soft_reset_run_leave(term):
    """A.1: the pyboard.py / mpremote sequence, byte for byte."""
    term.write(b"\r\x01")
    assert term.read_until(RAW) == b"\r\n>>> \r\n" + RAW
    term.write(b"\x04")
    assert term.read_until(RAW) == (b"OK\r\nMPY: sync filesystems\r\nMPY: soft reboot\r\n" + RAW)
    term.write(b"\x05A\x01")
    assert term.read_n(5) == b"R\x01\x80\x00\x01"
    term.write(b"print(1)\x04")
    assert term.read_until(b"\x04>") == b"\x041\r\n\x04\x04>"
    term.write(b"\r\x02")
    assert re.fullmatch(rb"\r\n" + BANNER, term.read_until(b">>> "))


def test_classic_raw_with_exception(term):
    """A.2"""
    term.exchange(b"\x01", RAW)
    term.write(b"1/0\x04")
    assert term.read_until(b"\x04>") == (
        b"OK\x04Traceback (most recent call last):\r\n"
        b'  File "<stdin>", line 1, in <module>\r\n'
        b"ZeroDivisionError: divide by zero\r\n\x04>")
    # Ctrl-A again: banner without leading \r\n; Ctrl-C clears silently.
    assert term.exchange(b"junk\x01", RAW) == RAW
    term.write(b"junk\x03print(2)\x04")
    assert term.read_until(b"\x04>") == b"OK2\r\n\x04\x04>"
    # Expression values are not echoed in raw mode; SystemExit soft-resets.
    term.write(b"7\x04")
    assert term.read_until(b"\x04>") == b"OK\x04\x04>"
    term.write(b"import sys; sys.exit()\x04")
    assert term.read_until(RAW) == b"OK\x04\x04MPY: sync filesystems\r\nMPY: soft reboot\r\n" + RAW


def test_raw_paste_flow_control_and_errors(term):
    """4.1: windows of 128 bytes, unsupported subcommand, Ctrl-C abort."""
    term.exchange(b"\x01", RAW)
    term.write(b"\x05B\x01")
    assert term.read_until(b">") == b"R\x00>"
    term.write(b"\x05A\x01")
    assert term.read_n(5) == b"R\x01\x80\x00\x01"
    code = b"x = 0\n" + b"x += 1\n" * 100 + b"print(x)\n"  # 706 bytes
    term.write(code)
    time.sleep(0.2)
    acks = term.read_for(0.2)
    assert acks == b"\x01" * (len(code) // 128)
    term.write(b"\x04")
    assert term.read_until(b"\x04>") == b"\x04100\r\n\x04\x04>"
    term.write(b"\x05A\x01")
    term.read_n(5)
    term.write(b"print('never')\x03")
    assert term.read_until(b"\x04>") == b"\x04\x04KeyboardInterrupt: \r\n\x04>"


def test_soft_reset_friendly_runs_main_and_keeps_mode(term):
    """5.1: friendly Ctrl-D runs main.py; raw Ctrl-D does not."""
    term.exchange(b"f = open('main.py', 'w'); f.write('print(\"main ran\")\\n'); f.close()\r", b">>> ")
    out = term.exchange(b"\x04", b">>> ")
    assert re.fullmatch(rb"\r\nMPY: sync filesystems\r\nMPY: soft reboot\r\nmain ran\r\n" + BANNER, out)
    term.exchange(b"\x01", RAW)
    assert term.exchange(b"\x04", RAW) == b"OK\r\nMPY: sync filesystems\r\nMPY: soft reboot\r\n" + RAW
    assert term.exchange(b"\x02", b">>> ").endswith(b">>> ")


def test_soft_reset_clears_user_state(term):
    term.exchange(b"import gc; big = bytearray(20000); y = 1\r", b">>> ")
    term.exchange(b"\x04", b">>> ")
    out = term.exchange(b"y\r", b">>> ")
    assert b"NameError: name 'y' isn't defined" in out


def test_paste_mode(term):
    """A.4 and 2: echo of \\r and \\n, value echo, cancel."""
    out = term.exchange(b"\x05", b"=== ")
    assert out == b"\r\npaste mode; Ctrl-C to cancel, Ctrl-D to finish\r\n=== "
    assert term.exchange(b"x = 5\rx\r", b"=== x\r\n=== ") == b"x = 5\r\n=== x\r\n=== "
    assert term.exchange(b"\x04", b">>> ") == b"\r\n5\r\n>>> "
    term.exchange(b"\x05", b"=== ")
    term.write(b"a\n")
    assert term.read_until(b"a\n") == b"a\n"
    assert term.exchange(b"\x03", b">>> ") == b"\r\n>>> "
    # Several statements, a compound one in the middle; line numbers kept.
    term.exchange(b"\x05", b"=== ")
    term.write(b"a = 1\rif a:\r    a + 1\r\r1/0\r\x04")
    out = term.read_until(b">>> ")
    assert out.endswith(b"\r\n2\r\nTraceback (most recent call last):\r\n"
                        b'  File "<stdin>", line 5, in <module>\r\n'
                        b"ZeroDivisionError: divide by zero\r\n>>> ")


def test_ctrl_c_interrupts_a_busy_loop_quickly(term):
    term.write(b"while True: pass\r\r")
    term.read_until(b"... \r\n")
    time.sleep(0.2)
    t0 = time.monotonic()
    term.write(b"\x03")
    out = term.read_until(b">>> ")
    assert time.monotonic() - t0 < 0.1
    assert out.endswith(b"KeyboardInterrupt: \r\n>>> ")


def test_ctrl_c_at_prompt_and_continuation(term):
    assert term.exchange(b"abc\x03", b">>> ") == b"abc\r\n>>> "
    out = term.exchange(b"if 1:\r", b"...     ")
    assert out == b"if 1:\r\n...     "
    assert term.exchange(b"\x03", b">>> ") == b"\r\n>>> "


def test_identity(term):
    out = term.exchange(b"import sys, os; sys.platform, os.getcwd(), sys.path\r", b">>> ")
    assert b"('pyboard', '/flash', ['', '.frozen', '/flash', '/flash/lib'])" in out
    out = term.exchange(b"os.statvfs('/flash')\r", b">>> ")
    assert b"(512, 512, 190, 180, 180, 0, 0, 0, 0, 255)" in out
    out = term.exchange(b"os.listdir('/')\r", b">>> ")
    assert b"['flash']" in out


def test_host_is_out_of_reach(term):
    for cmd, err in ((b"import socket\r", b"ImportError: no module named 'socket'"),
                     (b"import os; os.system\r", b"AttributeError"),
                     (b"open(3, 'wb')\r", b"TypeError"),
                     (b"import vfs; vfs.VfsPosix\r", b"AttributeError"),
                     (b"open('/etc/passwd')\r", b"OSError")):
        assert err in term.exchange(cmd, b">>> "), cmd
