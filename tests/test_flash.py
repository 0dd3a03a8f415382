"""/flash is a real filesystem image that host tools can open."""
import os
import signal

import littlefs

from conftest import mpremote


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
