"""/flash is a real filesystem image that host tools can open."""
import os
import signal
import subprocess
import sys

import littlefs
import pytest

from conftest import mpremote
from vpyb.device.board import BoardError, VirtualBoard


def test_fat_image_opens_with_pyfatfs(start_board, tmp_path):
    state = tmp_path / "b"
    b = start_board("--state", str(state))
    mpremote(b.port, "exec", "f = open('hello.txt', 'w'); f.write('from the board'); f.close()")
    b.stop()
    from pyfatfs.PyFatFS import PyFatFS

    with PyFatFS(str(state / "flash.img")) as vol:
        # FatFs marks lower-case 8.3 names with NT case flags; pyfatfs
        # shows them upper-case.
        names = [n.lower() for n in vol.listdir("/")]
        assert "boot.py" in names and "hello.txt" in names
        assert vol.readtext("/HELLO.TXT") == "from the board"


def test_littlefs_option(start_board, tmp_path):
    state = tmp_path / "b"
    b = start_board("--state", str(state), "--fs", "littlefs")
    mpremote(b.port, "exec", "f = open('lfs.txt', 'w'); f.write('little'); f.close()")
    out = mpremote(b.port, "exec", "import os; print(os.listdir(), os.statvfs('/flash')[0])").stdout
    assert "'lfs.txt'" in out and "'boot.py'" in out
    b.stop()
    image = (state / "flash.img").read_bytes()
    vol = littlefs.LittleFS(block_size=512, block_count=len(image) // 512, mount=False)
    vol.context.buffer = bytearray(image)
    vol.mount()
    with vol.open("lfs.txt", "r") as f:
        assert f.read() == "little"
    # The board mounts it again as littlefs.
    b2 = start_board("--state", str(state))
    assert mpremote(b2.port, "fs", "cat", ":lfs.txt").stdout == "little"


def test_a_killed_board_keeps_closed_files(start_board, tmp_path):
    state = tmp_path / "b"
    b = start_board("--state", str(state))
    mpremote(b.port, "exec", "f = open('safe.txt', 'w'); f.write('closed'); f.close()")
    for pid in b.core_pids():  # power cut: no sync, no goodbye
        os.kill(pid, signal.SIGKILL)
    b.proc.send_signal(signal.SIGKILL)
    b.proc.wait()
    b2 = start_board("--state", str(state))
    assert mpremote(b2.port, "fs", "cat", ":safe.txt").stdout == "closed"


def test_a_second_board_on_one_state_directory_is_refused(start_board, tmp_path):
    # Two boards on one flash.img would each write the FAT from their own
    # idea of it and lose files: the second is told who has it.
    state = tmp_path / "b"
    first = start_board("--state", str(state))
    r = subprocess.run([sys.executable, "-m", "vpyb.host_tools.cli", "run", "--state", str(state)],
                       capture_output=True, text=True, timeout=30)
    assert r.returncode == 1 and r.stdout == ""
    assert r.stderr == (f"vpyb: cannot start the board: {state / 'flash.img'} is in use by another "
                        f"board (pid {first.proc.pid}): give this board another state directory\n")
    mpremote(first.port, "exec", "f = open('still.txt', 'w'); f.write('mine'); f.close()")
    first.stop()
    second = start_board("--state", str(state))  # free once the first has stopped
    assert mpremote(second.port, "fs", "cat", ":still.txt").stdout == "mine"


def test_two_virtualboards_on_one_image(tmp_path):
    with VirtualBoard(tmp_path) as first:
        second = VirtualBoard(tmp_path)
        with pytest.raises(BoardError, match=rf"flash.img is in use by another board \(pid {os.getpid()}\)"):
            second.start()
        second.stop()
        assert first.wait_prompt()
    with VirtualBoard(tmp_path) as again:
        assert again.wait_prompt()
