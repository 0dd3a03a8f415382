"""mpremote, unchanged, against a board started with `vpyb run`."""
import hashlib
import random
import time

from conftest import mpremote


def test_exec_eval_run(board, tmp_path):
    assert mpremote(board.port, "exec", "print(6 * 7)").stdout == "42\n"
    assert mpremote(board.port, "eval", "1 << 10").stdout.strip() == "1024"
    script = tmp_path / "hello.py"
    script.write_text("import sys\nprint('hello from', sys.platform)\n")
    assert mpremote(board.port, "run", str(script)).stdout == "hello from pyboard\n"


def test_errors_come_back_as_errors(board):
    r = mpremote(board.port, "exec", "1/0", check=False)
    assert r.returncode == 1
    assert "ZeroDivisionError: divide by zero" in r.stdout + r.stderr


def test_filesystem_commands(board, tmp_path):
    local = tmp_path / "main.py"
    local.write_text("def answer():\n    return 42\n")
    p = board.port
    mpremote(p, "fs", "cp", str(local), ":lib_answer.py", "+", "exec", "import lib_answer; print(lib_answer.answer())")
    out = mpremote(p, "fs", "ls").stdout
    assert "lib_answer.py" in out and "boot.py" in out
    assert mpremote(p, "fs", "cat", ":lib_answer.py").stdout == local.read_text()
    mpremote(p, "fs", "mkdir", ":d", "+", "fs", "touch", ":d/empty.txt")
    tree = mpremote(p, "fs", "tree").stdout
    assert "d" in tree and "empty.txt" in tree
    sha = mpremote(p, "fs", "sha256sum", ":lib_answer.py").stdout
    assert hashlib.sha256(local.read_bytes()).hexdigest() in sha
    mpremote(p, "fs", "rm", ":d/empty.txt", "+", "fs", "rmdir", ":d", "+", "fs", "rm", ":lib_answer.py")
    out = mpremote(p, "fs", "ls").stdout
    assert "lib_answer.py" not in out and " d/" not in out
    r = mpremote(p, "fs", "cat", ":missing.txt", check=False)
    assert r.returncode != 0 and "No such file" in (r.stdout + r.stderr)


def test_df_reports_the_flash(board):
    out = mpremote(board.port, "df").stdout
    line = next(l for l in out.splitlines() if l.rstrip().endswith("/flash"))
    size, used, avail = (int(x) for x in line.split()[1:4])
    assert size == 190 * 512 and avail == 180 * 512 and used == size - avail


def test_binary_file_round_trip_100k(start_board, tmp_path):
    b = start_board("--ephemeral", "--flash", "1M")
    src = tmp_path / "blob.bin"
    src.write_bytes(random.Random(1234).randbytes(100 * 1024))
    back = tmp_path / "back.bin"
    mpremote(b.port, "fs", "cp", str(src), ":blob.bin", "+", "fs", "cp", ":blob.bin", str(back))
    assert back.read_bytes() == src.read_bytes()


def test_a_full_flash_says_so(board, tmp_path):
    # 100 KB does not fit a PYBv1.1's 92 KB of free flash: ENOSPC, as on the board.
    src = tmp_path / "blob.bin"
    src.write_bytes(bytes(100 * 1024))
    r = mpremote(board.port, "fs", "cp", str(src), ":blob.bin", check=False)
    assert r.returncode != 0 and "No space left on device" in r.stderr
    assert mpremote(board.port, "exec", "print(1)").stdout == "1\n"


def test_soft_reset_resume_and_reset(board):
    p = board.port
    out = mpremote(p, "exec", "x = 99", "+", "resume", "exec", "print(x)").stdout
    assert out.strip() == "99"
    r = mpremote(p, "exec", "x = 98", "+", "soft-reset", "+", "exec", "print(x)", check=False)
    assert "NameError" in r.stdout + r.stderr
    assert mpremote(p, "resume", "exec", "import machine; print(machine.reset_cause())").stdout.strip() == "0"
    mpremote(p, "reset")
    time.sleep(0.5)  # mpremote does not wait: the board resets 100 ms later
    # After machine.reset() the board boots with HARD_RESET; a new mpremote
    # session that resumes sees it (exec without resume would soft-reset).
    out = mpremote(p, "resume", "exec", "import machine; print(machine.reset_cause())").stdout
    assert out.strip() == "2"


def test_mount_and_import_from_host_folder(board, tmp_path):
    (tmp_path / "hostmod.py").write_text("VALUE = 'from the host'\n")
    out = mpremote(board.port, "mount", str(tmp_path), "exec",
                   "import hostmod, os; print(hostmod.VALUE); print(os.getcwd())").stdout
    assert "from the host" in out and "/remote" in out
    # The board is left usable and /remote is gone afterwards.
    assert "remote" not in mpremote(board.port, "exec", "import os; print(os.listdir('/'))").stdout


def test_files_survive_a_restart(start_board, tmp_path):
    state = tmp_path / "state"
    b = start_board("--state", str(state))
    mpremote(b.port, "exec", "f = open('keep.txt', 'w'); f.write('kept'); f.close()")
    assert b.stop() == 0
    b2 = start_board("--state", str(state))
    assert mpremote(b2.port, "fs", "cat", ":keep.txt").stdout == "kept"


def test_a_looping_main_py_is_interrupted_by_mpremote(start_board, tmp_path):
    state = tmp_path / "b"
    b = start_board("--state", str(state))
    mpremote(b.port, "exec", "f = open('main.py', 'w'); f.write('while True:\\n    pass\\n'); f.close()")
    b.stop()
    b2 = start_board("--state", str(state))  # ready although main.py never returns
    assert mpremote(b2.port, "exec", "print('got in')").stdout == "got in\n"
