"""The pytest plugin, run the way a user runs it: pytest in a subprocess,
the plugin loaded through its entry point."""
from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import parent, process_name
from subreaper import OUTLIVED, wrapped

NO_EMBEDDED = "-p", "no:pytest_embedded"


def cores_under(pid: int, name: str) -> list[int]:
    """The processes going by `name` ("vpyb-core": a board's core) descended from pid."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                children.setdefault(parent(int(entry.name)), []).append(int(entry.name))
            except (OSError, IndexError, ValueError):
                pass
    found, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            todo.append(child)
            if process_name(child) == name:
                found.append(child)
    return found


def run(pytester: pytest.Pytester, *args: str) -> pytest.RunResult:
    """pytest in a subprocess, as runpytest_subprocess runs it, under a
    subreaper: no core of that run may outlive it."""
    result = pytester.run(*wrapped(sys.executable, "-m", "pytest", f"--basetemp={pytester.path / 'basetemp'}",
                                   *NO_EMBEDDED, "-p", "no:cacheprovider", *args), timeout=120)
    assert OUTLIVED not in result.stderr.str(), "a board's core outlived the test run"
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
    result = run(pytester, "--vpyb-real", board.port, "-rs")
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
    proc = subprocess.Popen(wrapped(sys.executable, "-m", "pytest", *NO_EMBEDDED, "-s", "-p",
                                    "no:cacheprovider"), cwd=pytester.path, stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    out = b""
    deadline = time.monotonic() + 30
    while b"BOARDS UP" not in out and time.monotonic() < deadline:
        out += proc.stdout.read1(4096)
    assert b"BOARDS UP" in out
    inner_pytest = int(Path(f"/proc/{proc.pid}/task/{proc.pid}/children").read_text().split()[0])
    assert len(cores_under(inner_pytest, "vpyb-core")) == 2
    os.kill(inner_pytest, how)
    out += proc.communicate(timeout=30)[0]
    assert OUTLIVED.encode() not in out, out.decode(errors="replace")[-2000:]


FAILING = '''
import subprocess, sys

def test_fails_after_talking(board):
    board.exec("print('hello from the board')")
    subprocess.run([sys.executable, "-m", "mpremote", "connect", board.port, "exec",
                    "print('said by mpremote')"], check=True, timeout=30)
    assert board.eval("6 * 7") == 41
'''


def test_failure_report_shows_the_serial_transcript_and_its_file(pytester):
    pytester.makepyfile(test_fail=FAILING)
    result = run(pytester)
    result.assert_outcomes(failed=1)
    out = result.stdout.str()
    header = [line for line in out.splitlines() if "vpyb serial: last 30 lines of " in line]
    assert len(header) == 1, out
    log = Path(header[0].split(" lines of ", 1)[1].split()[0])
    assert log.name == "test_fail.py_test_fails_after_talking.log"
    assert log.parent.name == "vpyb-logs"
    text = log.read_text()
    # Both directions, whoever talked: the fixture's client and mpremote
    # (the output after the raw REPL's \x04 or OK).
    assert "> print('hello from the board')\\x04" in text
    assert re.search(r"< (\\x04|OK)hello from the board$", text, re.M)
    assert "> print('said by mpremote')\\x04" in text
    assert re.search(r"< (\\x04|OK)said by mpremote$", text, re.M)
    assert re.search(r"< (\\x04|OK)42$", text, re.M)
    # The report's section: the file's last lines when the test failed.
    section = out.split(header[0], 1)[1].split("\n=====", 1)[0].strip().splitlines()
    assert len(section) == 30 and "\n".join(section) in text
    assert "print(repr(6 * 7))" in section[-3]


def test_log_dir_option_and_a_second_board(pytester, tmp_path):
    pytester.makepyfile(test_two='''
def test_two_boards(board_factory):
    a, b = board_factory(), board_factory()
    a.exec("print('A')")
    b.exec("print('B')")
    assert a.log_path != b.log_path
''')
    logs = tmp_path / "logs"
    result = run(pytester, "--vpyb-log-dir", str(logs))
    result.assert_outcomes(passed=1)
    assert sorted(p.name for p in logs.iterdir()) == ["test_two.py_test_two_boards-board2.log",
                                                       "test_two.py_test_two_boards.log"]
    assert "< \\x04A\n" in (logs / "test_two.py_test_two_boards.log").read_text()
    assert "< \\x04B\n" in (logs / "test_two.py_test_two_boards-board2.log").read_text()


EXPECT = '''
import re, time
import pytest
from vpyb.host_tools.transcript import ExpectTimeout
from vpyb.protocol.raw_repl import BoardReset

def test_expect_output_printed_later(board):
    board.exec("import pyb\\nn = 0\\ndef tick(t):\\n    global n\\n    n += 1\\n    print('tick', n)\\n"
               "pyb.Timer(1, freq=20, callback=tick)")
    m = board.expect(rb"tick (\\d+)", timeout=5)
    first = int(m.group(1))
    assert int(board.expect("tick (\\\\d+)", timeout=5).group(1)) > first  # consumed: the next one
    board.expect(b"tick 6", timeout=5)  # bytes: literally
    board.expect(re.compile(r"TICK 8", re.I), timeout=5)

def test_expect_times_out_with_what_it_saw(board):
    board.exec("print('nothing useful')")
    t = time.monotonic()
    with pytest.raises(ExpectTimeout) as e:
        board.expect("READY", timeout=0.5)
    assert 0.5 <= time.monotonic() - t < 2
    assert "nothing useful" in str(e.value) and str(board.log_path) in str(e.value)

def test_expect_failure_is_a_test_failure(board):
    board.exec("print('booting')")
    board.expect("READY", timeout=0.3)

def test_crash_then_the_board_works_again(board):
    with pytest.raises(BoardReset, match="core crashed"):
        board.exec("@micropython.viper\\ndef f():\\n    p = ptr32(8)\\n    p[0] = 1\\nf()")
    board.expect(b"MicroPython v", timeout=5)  # the new core's banner
    assert board.eval("1 + 1") == 2
'''


def test_expect_on_a_virtual_board(pytester):
    pytester.makepyfile(test_expect=EXPECT)
    result = run(pytester, "-rf")
    result.assert_outcomes(passed=3, failed=1)
    result.stdout.fnmatch_lines(["*ExpectTimeout: no match for b'READY' within 0.3 s; the board printed *booting*"
                                 "since the last match; full serial log: *test_expect.py_test_expect_failure_is_a_test_failure.log*"])


def test_expect_on_a_real_board(pytester, board):
    # A `vpyb run` board stands in for the real one: expect() reads the fixture's own client.
    pytester.makepyfile(test_real_expect=EXPECT)
    result = run(pytester, f"--vpyb-real={board.port}", "-k", "not crash")
    result.assert_outcomes(passed=2, failed=1)
    log = pytester.path / "basetemp" / "vpyb-logs" / "test_real_expect.py_test_expect_output_printed_later.log"
    text = log.read_text()
    assert "< tick 5\n" in text and "> \\r\\x03\\r\\x01\n" in text  # the fixture's client, both ways
