"""ampy and rshell, unchanged, against the board's pty."""
import os
import subprocess
import sys
from pathlib import Path


BIN = Path(sys.executable).parent


def ampy(port: str, *args: str) -> subprocess.CompletedProcess:
    r = subprocess.run([str(BIN / "ampy"), "-p", port, *args], capture_output=True, text=True,
                       timeout=60)
    assert r.returncode == 0, f"ampy {args}: {r.stdout}{r.stderr}"
    return r


def rshell(port: str, *cmd: str) -> str:
    env = dict(os.environ, HOME=os.environ.get("HOME", "/tmp"))
    r = subprocess.run([str(BIN / "rshell"), "--quiet", "--nocolor", "-p", port, *cmd],
                       capture_output=True, text=True, timeout=90, env=env)
    assert r.returncode == 0, f"rshell {cmd}: {r.stdout}{r.stderr}"
    return r.stdout


def test_ampy_put_get_ls_rm_mkdir_run(board, tmp_path):
    src = tmp_path / "hello.py"
    src.write_text("print('hi from ampy')\n" + "# padding\n" * 20)
    # Paths as on a real Pyboard: the files live under /flash (also the cwd).
    ampy(board.port, "put", str(src), "/flash/hello.py")
    ampy(board.port, "get", "hello.py", str(tmp_path / "back.py"))
    assert (tmp_path / "back.py").read_bytes() == src.read_bytes()
    ampy(board.port, "mkdir", "/flash/sub")
    assert ampy(board.port, "ls").stdout.split() == ["/flash"]
    listing = ampy(board.port, "ls", "/flash").stdout.split()
    assert "/flash/hello.py" in listing and "/flash/sub" in listing
    assert ampy(board.port, "run", str(src)).stdout.strip() == "hi from ampy"
    ampy(board.port, "rm", "/flash/hello.py")
    ampy(board.port, "rmdir", "/flash/sub")
    listing = ampy(board.port, "ls", "/flash").stdout.split()
    assert "/flash/hello.py" not in listing and "/flash/sub" not in listing


def test_rshell_ls_cp_cat(board, tmp_path):
    src = tmp_path / "notes.txt"
    src.write_text("written by rshell\n")
    out = rshell(board.port, "ls", "/flash")
    assert "boot.py" in out and "main.py" in out
    rshell(board.port, "cp", str(src), "/flash/notes.txt")
    assert "written by rshell" in rshell(board.port, "cat", "/flash/notes.txt")
    back = tmp_path / "back.txt"
    rshell(board.port, "cp", "/flash/notes.txt", str(back))
    assert back.read_text() == src.read_text()
