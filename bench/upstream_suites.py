"""MicroPython's own test suites on the board and on the core directly.

Takes upstream MicroPython's source (the shared snapshot, unpacked into vpyb's
cache, or a tree given with --src), then for each suite runs upstream
tests/run-tests.py twice: on the core directly (the wheel's `micropython`)
and against a fresh board (`vpyb run --ephemeral`, `-t PORT`), after putting
micropython-lib's unittest on the board's /flash/lib as `mip install
unittest` would.  ports/stm32 runs on the board only, and so does `mpremote`,
mpremote's own suite (tools/mpremote/tests, see mpremote_suite.py): its
baseline is the .exp files upstream recorded on real boards.  Prints one JSON
object: per suite, the counts and the tests that failed.

    python bench/upstream_suites.py [--src TREE | --snapshot TAR.XZ] [--suite basics ...]
                                    [--mpremote snapshot|installed]
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import time
from pathlib import Path

from mpremote_suite import run_mpremote_suite
from upstream import BIN, fresh_board, put_unittest, run_tests, source_tree

SUITES = ("basics", "micropython", "extmod", "float", "misc", "unicode", "stress")
BOARD_ONLY = ("ports/stm32", "mpremote")


def run_tests_on_a_fresh_board(tree: Path, suite: str) -> dict:
    with fresh_board("--flash", "1M") as port:
        put_unittest(tree, port)
        return run_tests(tree / "tests", ["run-tests.py"], "-t", port, "-d", suite)


def run_suite(tree: Path, suite: str, which_mpremote: str) -> dict:
    direct = None
    if suite == "mpremote":
        # A board as it comes: upstream asks for nothing on it.
        with fresh_board() as port:
            board = run_mpremote_suite(tree, port, which_mpremote)
    else:
        if suite not in BOARD_ONLY:
            direct = run_tests(tree / "tests", ["run-tests.py"], "-d", suite,
                               MICROPY_MICROPYTHON=str(BIN / "micropython"))
        board = run_tests_on_a_fresh_board(tree, suite)
    return {"core_direct": direct, "board": board,
            "fail_on_board_only": sorted(set(board["failed"]) - set(direct["failed"] if direct else []))}


def main() -> None:
    ap = argparse.ArgumentParser()
    source = ap.add_mutually_exclusive_group()
    source.add_argument("--src", help="a MicroPython source tree of the core's date")
    source.add_argument("--snapshot", help="a snapshot tarball (default: ../shared/upstream's)")
    ap.add_argument("--suite", action="append", choices=SUITES + BOARD_ONLY,
                    help="a suite (default: all); repeat for several")
    ap.add_argument("--mpremote", choices=("snapshot", "installed"), default="snapshot",
                    help="the mpremote the mpremote suite drives: the source tree's own (default), "
                         "or the one installed with vpyb")
    a = ap.parse_args()
    tree = source_tree(a.src, a.snapshot)
    t0 = time.perf_counter()
    results = {suite: run_suite(tree, suite, a.mpremote) for suite in a.suite or SUITES + BOARD_ONLY}
    print(json.dumps({
        "machine": f"{platform.machine()} {os.cpu_count()} cores, Python {platform.python_version()}",
        "source": str(tree), "wall_s": round(time.perf_counter() - t0, 2), "suites": results}, indent=2))


if __name__ == "__main__":
    main()
