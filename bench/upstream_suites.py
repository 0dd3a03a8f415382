"""MicroPython's own test suites on the board and on the core directly.

Unpacks the upstream MicroPython snapshot (shared/upstream/, or a source tree
given with --src) into a scratch folder, then for each suite runs upstream
tests/run-tests.py twice: on the core directly (the wheel's `micropython`)
and against a fresh board (`vpyb run --ephemeral`, `-t PORT`), after putting
micropython-lib's unittest on the board's /flash/lib as `mip install
unittest` would.  ports/stm32 runs on the board only.  Prints one JSON object:
per suite, both counts and the tests that failed.

    python bench/upstream_suites.py [--src TREE | --snapshot TAR.XZ] [--suite basics ...]
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import re
import signal
import subprocess
import sys
import tarfile
from pathlib import Path

from bench_run_tests import run_tests

from vpyb.device.romfs import cache_dir

READY = re.compile(rb"vpyb: PYBv1.1 ready on (\S+)")
BIN = Path(sys.executable).parent
REPO = Path(__file__).resolve().parent.parent
SUITES = ("basics", "micropython", "extmod", "float", "misc", "unicode", "stress")
BOARD_ONLY = ("ports/stm32",)
UNITTEST = "lib/micropython-lib/python-stdlib/unittest/unittest/__init__.py"


def default_snapshot() -> Path | None:
    found = sorted((REPO.parent / "shared" / "upstream").glob("micropython-*.tar.xz"))
    return found[-1] if found else None


def unpacked(snapshot: Path) -> Path:
    """The snapshot's tree in vpyb's cache (unpacked once per snapshot)."""
    root = cache_dir() / f"upstream-{snapshot.name.removesuffix('.tar.xz')}"
    tree = root / "micropython"
    if not (tree / "tests" / "run-tests.py").exists():
        with tarfile.open(snapshot) as tar:
            members = [m for m in tar.getmembers()
                       if m.name.startswith(("micropython/tests/", "micropython/tools/",
                                             "micropython/" + UNITTEST.rsplit("/", 1)[0]))]
            tar.extractall(root, members=members, filter="data")
    return tree


def mpremote(port: str, *args: str) -> None:
    subprocess.run([str(BIN / "mpremote"), "connect", port, *args], check=True,
                   capture_output=True, timeout=60)


def on_a_fresh_board(tree: Path, suite: str) -> dict:
    board = subprocess.Popen([str(BIN / "vpyb"), "run", "--ephemeral", "--flash", "1M"],
                             stdout=subprocess.PIPE)
    try:
        m = READY.match(board.stdout.readline())
        if not m:
            raise SystemExit("the board did not start")
        port = m.group(1).decode()
        mpremote(port, "fs", "mkdir", ":lib", "+", "fs", "mkdir", ":lib/unittest", "+",
                 "fs", "cp", str(tree / UNITTEST), ":lib/unittest/__init__.py")
        return run_tests(tree / "tests", ["run-tests.py"], "-t", port, "-d", suite)
    finally:
        board.send_signal(signal.SIGTERM)
        board.wait(10)


def main() -> None:
    ap = argparse.ArgumentParser()
    source = ap.add_mutually_exclusive_group()
    source.add_argument("--src", help="a MicroPython source tree of the core's date")
    source.add_argument("--snapshot", help="a snapshot tarball (default: ../shared/upstream's)")
    ap.add_argument("--suite", action="append", help="a test folder (default: all)")
    a = ap.parse_args()
    if a.src:
        tree = Path(a.src)
    else:
        snapshot = Path(a.snapshot) if a.snapshot else default_snapshot()
        if snapshot is None:
            raise SystemExit("no MicroPython source: give --src TREE or --snapshot TAR.XZ")
        tree = unpacked(snapshot)
    results = {}
    for suite in a.suite or SUITES + BOARD_ONLY:
        direct = None
        if suite not in BOARD_ONLY:
            direct = run_tests(tree / "tests", ["run-tests.py"], "-d", suite,
                               MICROPY_MICROPYTHON=str(BIN / "micropython"))
        board = on_a_fresh_board(tree, suite)
        results[suite] = {"core_direct": direct, "board": board,
                          "fail_on_board_only": sorted(set(board["failed"])
                                                       - set(direct["failed"] if direct else []))}
    print(json.dumps({
        "machine": f"{platform.machine()} {os.cpu_count()} cores, Python {platform.python_version()}",
        "source": str(tree), "suites": results}, indent=2))


if __name__ == "__main__":
    main()
