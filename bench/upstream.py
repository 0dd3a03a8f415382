"""What the bench scripts share: MicroPython's source tree, a fresh board, and
upstream tests/run-tests.py run and read back.

The source is the shared upstream snapshot (../shared/upstream/, unpacked
once into vpyb's cache) or a tree the user names: this machine has no
network, and a user's own clone serves as well.
"""
from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import tarfile
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from vpyb.device.romfs import cache_dir

READY = re.compile(rb"vpyb: PYBv1.1 ready on (\S+)")
BIN = Path(sys.executable).parent
REPO = Path(__file__).resolve().parent.parent
UNITTEST = "lib/micropython-lib/python-stdlib/unittest/unittest/__init__.py"
# What the suites need of the snapshot: the tests and their runner, tools/
# (pyboard.py, mpremote and its tests), micropython-lib's unittest.
WANTED = ("micropython/tests/", "micropython/tools/", "micropython/" + UNITTEST.rsplit("/", 1)[0])


def default_snapshot() -> Path | None:
    found = sorted((REPO.parent / "shared" / "upstream").glob("micropython-*.tar.xz"))
    return found[-1] if found else None


def unpacked(snapshot: Path) -> Path:
    """The snapshot's tree in vpyb's cache, unpacked once per snapshot.  It is
    unpacked beside and renamed into place, so a run started meanwhile never
    sees half a tree."""
    root = cache_dir() / f"upstream-{snapshot.name.removesuffix('.tar.xz')}"
    if not (root / "micropython" / "tests" / "run-tests.py").exists():
        root.parent.mkdir(parents=True, exist_ok=True)
        scratch = Path(tempfile.mkdtemp(dir=root.parent, prefix=root.name + "."))
        with tarfile.open(snapshot) as tar:
            tar.extractall(scratch, members=[m for m in tar.getmembers() if m.name.startswith(WANTED)],
                           filter="data")
        try:
            scratch.rename(root)
        except OSError:  # another run put it there first
            shutil.rmtree(scratch)
    return root / "micropython"


def source_tree(src: str | None, snapshot: str | None) -> Path:
    """The tree given with --src, else the snapshot's (--snapshot or the default)."""
    if src:
        return Path(src)
    tarball = Path(snapshot) if snapshot else default_snapshot()
    if tarball is None:
        raise SystemExit("no MicroPython source: give --src TREE or --snapshot TAR.XZ")
    return unpacked(tarball)


@contextmanager
def fresh_board(*args: str) -> Iterator[str]:
    """A board started as users start one (`vpyb run --ephemeral`); yields its pty."""
    board = subprocess.Popen([str(BIN / "vpyb"), "run", "--ephemeral", *args], stdout=subprocess.PIPE)
    assert board.stdout is not None  # (stdout=PIPE)
    try:
        m = READY.match(board.stdout.readline())
        if not m:
            raise SystemExit("the board did not start")
        yield m.group(1).decode()
    finally:
        board.send_signal(signal.SIGTERM)
        board.wait(10)
        board.stdout.close()


def put_unittest(tree: Path, port: str) -> None:
    """micropython-lib's unittest on the board's /flash/lib, as `mip install
    unittest` puts it: run-tests.py refuses to run a suite with tests needing
    it (basics has some) on a board without it."""
    r = subprocess.run([str(BIN / "mpremote"), "connect", port, "fs", "mkdir", ":lib", "+",
                        "fs", "mkdir", ":lib/unittest", "+",
                        "fs", "cp", str(tree / UNITTEST), ":lib/unittest/__init__.py"],
                       capture_output=True, text=True, timeout=60)
    if r.returncode:
        raise SystemExit(f"mpremote could not put unittest on the board:\n{r.stdout}{r.stderr}")


def run_tests(tests: Path, runner: list[str], *args: str, **env: str) -> dict:
    """Upstream run-tests.py (or `runner` standing in for it), one test at a
    time; its counts, failed and skipped tests.  Results go to a folder of this run's
    own, so runs at the same time in one tree don't clear each other's."""
    with tempfile.TemporaryDirectory(prefix="vpyb-results-") as results:
        t0 = time.perf_counter()
        r = subprocess.run([sys.executable, *runner, "-j", "1", "-r", results, *args], cwd=tests,
                           text=True, capture_output=True,
                           env={**os.environ, "MICROPY_CPYTHON3": sys.executable, **env})
        wall = time.perf_counter() - t0
    out = r.stdout
    if not re.search(r"^\d+ tests? performed", out, re.M):  # it stopped before its report
        raise SystemExit(f"run-tests.py {' '.join(args)} gave no report:\n{out[-2000:]}{r.stderr[-2000:]}")

    def count(what: str) -> int:
        m = re.search(rf"^(\d+) tests? {what}", out, re.M)
        return int(m.group(1)) if m else 0

    def named(what: str) -> list[str]:
        m = re.search(rf"^\d+ tests? {what}: (.*)$", out, re.M)
        return m.group(1).split() if m else []

    return {"wall_s": round(wall, 2), "performed": count("performed"), "passed": count("passed"),
            "failed": named("failed"), "skipped": named("skipped")}
