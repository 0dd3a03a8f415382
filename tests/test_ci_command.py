"""`vpyb test`, run as a CI job runs it: the installed CLI in a subprocess,
its exit code, output, serial log and JUnit XML read back."""
from __future__ import annotations

import os
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from conftest import mpremote
from subreaper import OUTLIVED, wrapped

CRASH = "print('before')\n@micropython.viper\ndef f():\n    p = ptr32(8)\n    p[0] = 1\nf()\n"


def vpyb_test(*args: str, cwd: Path | None = None, timeout: float = 60) -> subprocess.CompletedProcess:
    env = dict(os.environ)
    env.pop("PYTHONUNBUFFERED", None)
    r = subprocess.run(wrapped(sys.executable, "-m", "vpyb.host_tools.cli", "test", *args), cwd=cwd,
                       capture_output=True, text=True, timeout=timeout, env=env)
    assert OUTLIVED not in r.stderr, r.stderr  # every core ends with the command
    return r


def test_pass_streams_the_output(tmp_path):
    script = tmp_path / "smoke.py"
    script.write_text("print('hello')\nprint('ready', 6 * 7)\n")
    t = time.monotonic()
    r = vpyb_test(str(script), "--expect-text", "ready 42", "--expect-regex", r"hel+o")
    took = time.monotonic() - t
    assert r.returncode == 0, r.stderr
    assert r.stdout.replace("\r\n", "\n") == "hello\nready 42\n"
    assert "vpyb test: PASS" in r.stderr
    assert took < 10  # Python's start, a fresh board, the run (a fraction of a second unloaded)


def test_an_exception_fails_with_the_log_tail():
    r = vpyb_test("-c", "print('x')\n1/0")
    assert r.returncode == 1
    assert "vpyb test: FAIL: the script raised ZeroDivisionError: divide by zero" in r.stderr
    tail = r.stderr.split("--- the board's last lines ---\n", 1)[1]
    assert tail.splitlines()[-1] == "ZeroDivisionError: divide by zero"


def test_missing_expected_text_fails():
    r = vpyb_test("-c", "print('booted')", "--expect-text", "ready", "--expect-regex", r"v\d+")
    assert r.returncode == 1
    assert "FAIL: not seen: text 'ready', regex 'v\\\\d+'" in r.stderr


def test_fail_text_stops_a_script_that_would_run_on():
    code = "import time\nprint('start')\ntime.sleep(0.1)\nprint('PANIC: sensor')\nwhile True:\n    time.sleep(1)"
    t = time.monotonic()
    r = vpyb_test("-c", code, "--fail-text", "PANIC", "--timeout", "20")
    assert r.returncode == 1
    assert "FAIL: fail text 'PANIC' seen" in r.stderr
    assert time.monotonic() - t < 10  # not the timeout


def test_expected_output_stops_a_script_that_runs_forever():
    # A firmware-style main loop: the check passes once it has said what it must.
    code = "import time\nn = 0\nwhile True:\n    n += 1\n    print('tick', n)\n    time.sleep(0.02)"
    r = vpyb_test("-c", code, "--expect-text", "tick 5", "--timeout", "20")
    assert r.returncode == 0, r.stderr
    assert "PASS: every expected output seen" in r.stderr


def test_crash_is_an_error_with_the_log(tmp_path):
    script = tmp_path / "crash.py"
    script.write_text(CRASH)
    log, junit = tmp_path / "serial.log", tmp_path / "report.xml"
    r = vpyb_test(str(script), "--serial-log", str(log), "--junit", str(junit))
    assert r.returncode == 2
    assert "vpyb test: ERROR (crash): the board reset mid-run: core crashed (SIGSEGV): hard reset" in r.stderr
    assert f"--- the board's last lines ({log}) ---\nbefore\nvpyb: core crashed (SIGSEGV): hard reset" in r.stderr
    assert log.read_bytes() == b"before\r\nvpyb: core crashed (SIGSEGV): hard reset\r\n"
    suite = ET.parse(junit).getroot().find("testsuite")
    assert (suite.get("tests"), suite.get("failures"), suite.get("errors")) == ("1", "0", "1")
    case = suite.find("testcase")
    assert case.get("name") == str(script)
    error = case.find("error")
    assert error.get("type") == "crash" and "SIGSEGV" in error.get("message")
    assert case.find("system-out").text == "before\nvpyb: core crashed (SIGSEGV): hard reset\n"


def test_hang_is_a_timeout_error(tmp_path):
    junit = tmp_path / "report.xml"
    t = time.monotonic()
    r = vpyb_test("-c", "print('waiting')\nwhile True:\n    pass", "--timeout", "1",
                  "--expect-text", "done", "--junit", str(junit))
    assert time.monotonic() - t < 8
    assert r.returncode == 2
    assert "ERROR (timeout): timeout: the run did not end within 1 s; not seen: text 'done'" in r.stderr
    assert "KeyboardInterrupt" in r.stderr  # the tail: the run was interrupted
    case = ET.parse(junit).getroot().find("testsuite/testcase")
    assert case.find("error").get("type") == "timeout"


def test_junit_of_a_pass_and_a_failure(tmp_path):
    junit = tmp_path / "report.xml"
    assert vpyb_test("-c", "print('ok\\x1b[0m\\x07')", "--junit", str(junit)).returncode == 0
    case = ET.parse(junit).getroot().find("testsuite/testcase")
    assert case.find("failure") is None and case.find("error") is None
    assert case.get("name") == "-c"
    assert case.find("system-out").text == "ok\ufffd[0m\ufffd\n"  # XML can't carry those bytes
    assert vpyb_test("-c", "assert 1 == 2, 'nope'", "--junit", str(junit)).returncode == 1
    failure = ET.parse(junit).getroot().find("testsuite/testcase/failure")
    assert failure.get("message") == "the script raised AssertionError: nope"


def test_board_that_cannot_start_is_an_error(tmp_path):
    wiring = tmp_path / "wiring.toml"
    wiring.write_text('[[i2c]]\nbus = 1\naddress = 0x50\nmodel = "NoSuchModel"\n')
    r = vpyb_test("-c", "print(1)", "--board", str(wiring))
    assert r.returncode == 2
    assert "vpyb test: ERROR (start): the board did not start:" in r.stderr
    assert "NoSuchModel" in r.stderr


def test_uploads_and_board_options(tmp_path):
    app = tmp_path / "app"
    (app / "drivers").mkdir(parents=True)
    (app / "main_logic.py").write_text("def answer():\n    return 42\n")
    (app / "drivers" / "__init__.py").write_text("")
    (app / "drivers" / "led.py").write_text("NAME = 'green'\n")
    (tmp_path / "config.json").write_text('{"rate": 5}')
    (tmp_path / "data.bin").write_bytes(bytes(range(256)) * 20)
    frozen = tmp_path / "frozen"
    frozen.mkdir()
    (frozen / "romlib.py").write_text("WHERE = 'rom'\n")
    wiring = tmp_path / "wiring.toml"
    wiring.write_text('[[i2c]]\nbus = 1\naddress = 0x50\nmodel = "Eeprom24LC256"\n')
    script = tmp_path / "check.py"
    script.write_text(
        "import os, gc, json, machine\n"
        "import main_logic, romlib\n"
        "from drivers import led\n"
        "print(main_logic.answer(), led.NAME, romlib.WHERE, json.load(open('/flash/cfg/c.json'))['rate'])\n"
        "print(len(open('/flash/data.bin', 'rb').read()), 0x50 in machine.I2C(1).scan())\n"
        "print(os.statvfs('/flash')[2] * 512, gc.mem_free() > 150_000)\n")
    r = vpyb_test(str(script), "--put", f"{app}:/flash", "--put", f"{tmp_path / 'config.json'}:cfg/c.json",
                  "--put", str(tmp_path / "data.bin"), "--freeze", str(frozen), "--board", str(wiring),
                  "--heap", "200k", "--fs", "littlefs", "--flash", "512k")
    assert r.returncode == 0, r.stderr
    assert r.stdout.replace("\r\n", "\n").splitlines() == ["42 green rom 5", "5120 True", "524288 True"]


def test_missing_local_file_is_an_error(tmp_path):
    r = vpyb_test("-c", "print(1)", "--put", str(tmp_path / "nope.py"))
    assert (r.returncode, r.stderr.strip()) == (2, f"vpyb test: --put {tmp_path / 'nope.py'}: no such file or folder")
    r = vpyb_test(str(tmp_path / "nope.py"))
    assert r.returncode == 2 and "No such file" in r.stderr


def test_usage_errors_exit_2():
    r = vpyb_test()  # neither SCRIPT nor -c
    assert r.returncode == 2 and "one of the arguments SCRIPT -c is required" in r.stderr
    r = vpyb_test("-c", "1", "--timeout", "0")
    assert r.returncode == 2 and "not a number of seconds above 0" in r.stderr
    r = vpyb_test("-c", "1", "--expect-regex", "(")
    assert r.returncode == 2 and "not a regular expression" in r.stderr
    r = vpyb_test("-c", "1", "--port", "/dev/null", "--heap", "64k")
    assert r.returncode == 2 and "argument --port: not with --heap" in r.stderr


def test_port_runs_the_same_on_a_board_already_running(start_board, tmp_path):
    # A `vpyb run` board stands in for a real one: the command only sees a serial port.
    board = start_board("--ephemeral")
    mpremote(board.port, "exec", "import builtins; builtins.leftover = 1")
    (tmp_path / "lib.py").write_text("X = 7\n")
    r = vpyb_test("--port", board.port, "--put", str(tmp_path / "lib.py"),
                  "-c", "import builtins, lib\nprint(hasattr(builtins, 'leftover'), lib.X)",
                  "--expect-text", "False 7")
    assert r.returncode == 0, r.stderr  # soft-reset first: nothing of the last session left
    assert mpremote(board.port, "exec", "print(open('lib.py').read())").stdout == "X = 7\n\n"
    r = vpyb_test("--port", board.port, "-c", CRASH)
    assert r.returncode == 2 and "ERROR (crash)" in r.stderr
    assert mpremote(board.port, "exec", "print('alive')").stdout == "alive\n"


def test_port_that_is_not_there_is_an_error(tmp_path):
    r = vpyb_test("--port", str(tmp_path / "ttyACM9"), "-c", "print(1)")
    assert r.returncode == 2
    assert "vpyb test: ERROR (start): the board did not start:" in r.stderr
