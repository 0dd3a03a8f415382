"""The pytest plugin, run the way a user runs it: pytest in a subprocess,
the plugin loaded through its entry point."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

NO_EMBEDDED = "-p", "no:pytest_embedded"


def core_processes(name: str | None = None, outside: int | None = None) -> set[int]:
    """Core processes (standbys and spares included); with `name` only the
    ones going by it ("vpyb-core": a board's); with `outside`, not those
    descended from that process (a board the test itself runs)."""
    found = set()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if (b"core_boot.py" in (entry / "cmdline").read_bytes()
                        and name in (None, (entry / "comm").read_text().strip())
                        and (outside is None or outside not in ancestors(int(entry.name)))):
                    found.add(int(entry.name))
            except OSError:
                pass
    return found


def ancestors(pid: int) -> list[int]:
    chain = []
    while pid > 1:
        pid = int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])
        chain.append(pid)
    return chain


def run(pytester: pytest.Pytester, *args: str, outside: int | None = None) -> pytest.RunResult:
    before = core_processes(outside=outside)
    result = pytester.runpytest_subprocess(*NO_EMBEDDED, "-p", "no:cacheprovider", *args,
                                           timeout=120)
    assert core_processes(outside=outside) <= before, "a board's core outlived the test run"
    return result


BASICS = '''
import subprocess, sys
from vpyb.protocol.raw_repl import RemoteError
import pytest

def test_exec_eval_files_and_hardware(board):
    assert board.exec("print(6 * 7)") == "42\\r\\n"
    assert board.eval("[1, 'a', None]") == [1, "a", None]
    board.fs.put(bytes(range(256)) * 20, "/flash/blob.bin")
    assert board.fs.get("/flash/blob.bin") == bytes(range(256)) * 20
    assert "blob.bin" in board.fs.ls()
    board.exec("import pyb; pyb.LED(2).on()")
    assert board.led(2).on and not board.led(1).on
    with pytest.raises(RemoteError, match="ZeroDivisionError"):
        board.exec("1/0")
    out = subprocess.run([sys.executable, "-m", "mpremote", "connect", board.port,
                          "exec", "print(len(open('/flash/blob.bin','rb').read()))"],
                         capture_output=True, text=True, timeout=30).stdout
    assert out == "5120\\n"
    assert board.eval("1+1") == 2  # the fixture's client is back after mpremote

def test_each_test_gets_a_fresh_board(board):
    assert not board.fs.exists("/flash/blob.bin")
    assert "main.py" in board.fs.ls()

def test_two_boards_talk_over_a_uart_cable(board_factory):
    a, b = board_factory(), board_factory()
    board_factory.link_uarts(a, 4, b, 2)
    b.exec("from pyb import UART; u = UART(2, 115200, timeout=500)")
    a.exec("from pyb import UART; u = UART(4, 115200); u.write(b'ping')")
    assert b.eval("u.read(4)") == b"ping"
'''


def test_fixtures_run_tests_on_fresh_boards_in_parallel_workers(pytester):
    pytester.makepyfile(test_user=BASICS)
    result = run(pytester, "-n", "2", "-p", "xdist")
    result.assert_outcomes(passed=3)


def test_options_heap_and_board_file(pytester):
    pytester.makefile(".toml", wiring='[[i2c]]\nbus = 1\naddress = 0x50\nmodel = "Eeprom24LC256"\n')
    pytester.makepyfile(test_opts='''
def test_heap_and_wiring(board):
    assert 195_000 < board.eval("__import__('gc').mem_free()") < 200 * 1024
    assert 0x50 in board.eval("__import__('machine').I2C(1).scan()")
''')
    result = run(pytester, "--vpyb-heap", "200k", "--vpyb-board", "wiring.toml")
    result.assert_outcomes(passed=1)


def test_real_board_switch_skips_model_tests_with_a_reason(pytester, board):
    # A `vpyb run` board stands in for the real one: the plugin only sees a serial port.
    pytester.makepyfile(test_real='''
import pytest

def test_code_runs(board):
    board.exec("x = 5")
    assert board.eval("x * 2") == 10

def test_needs_models(board):
    board.led(2)

@pytest.mark.vpyb_virtual
def test_marked(board):
    raise AssertionError("must not run on a real board")

def test_a_second_board(board_factory):
    board_factory(), board_factory()
''')
    # The board soft-resets before each test: its new cores are its own.
    result = run(pytester, "--vpyb-real", board.port, "-rs", outside=board.proc.pid)
    result.assert_outcomes(passed=1, skipped=3)
    result.stdout.fnmatch_lines(["*board.led: needs vpyb's host-side peripheral models*",
                                 "*one real board only*"])


def test_pytest_embedded_serial_dut_drives_the_board(pytester, board):
    pytester.makepyfile(test_dut='''
def test_repl(dut):
    dut.write("\\x03")
    dut.expect(">>> ")
    dut.write("print(6 * 7)")
    dut.expect("42")
''')
    result = pytester.runpytest_subprocess("-p", "pytest_embedded", "-p", "no:cacheprovider",
                                           "--embedded-services", "serial", "--port", board.port,
                                           timeout=120)
    result.assert_outcomes(passed=1)


def test_the_readme_example_runs_as_written(pytester, monkeypatch):
    # As in the README's activated virtualenv: its scripts (mpremote) on PATH.
    monkeypatch.setenv("PATH", f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}")
    readme = (Path(__file__).parent.parent / "README.md").read_text()
    section = readme.split("## Testing with pytest", 1)[1]
    code = section.split("```python\n", 1)[1].split("```", 1)[0]
    pytester.makepyfile(test_readme=code)
    result = run(pytester)
    result.assert_outcomes(passed=4)


@pytest.mark.parametrize("how", [signal.SIGINT, signal.SIGKILL], ids=["ctrl-c", "kill"])
def test_no_core_outlives_a_failed_or_interrupted_run(pytester, how):
    pytester.makepyfile(test_stuck='''
import time

def test_fails(board):
    board.exec("x = 1")
    assert False

def test_hangs(board_factory):
    board_factory(), board_factory()
    print("BOARDS UP", flush=True)
    time.sleep(60)
''')
    before = core_processes()
    proc = subprocess.Popen([sys.executable, "-m", "pytest", *NO_EMBEDDED, "-s", "-p",
                             "no:cacheprovider"], cwd=pytester.path, stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    out = b""
    deadline = time.monotonic() + 30
    while b"BOARDS UP" not in out and time.monotonic() < deadline:
        out += proc.stdout.read1(4096)
    assert b"BOARDS UP" in out
    assert len(core_processes("vpyb-core") - before) == 2
    proc.send_signal(how)
    proc.communicate(timeout=30)
    deadline = time.monotonic() + 5
    while core_processes() - before and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not core_processes() - before
