"""MicroPython's own test runner against the board: prints one JSON object.

Runs upstream tests/run-tests.py on the same tests twice in one go: on the
core directly (the wheel's `micropython`) and on a board started with
`vpyb run --ephemeral`, micropython-lib's unittest on its /flash/lib,
through its pty (`-t PORT`).  Both one test at a time, as run-tests.py does for a board.
A third run repeats the board run with pyboard.py's 10 ms poll shortened to
0.5 ms: pyboard.py sleeps 10 ms whenever it waits for a reply that hasn't
arrived yet (three per test), which bounds any board's figure; the third run
shows what is left.

    python bench/bench_run_tests.py [--src TREE | --snapshot TAR.XZ] [--dir basics]

Without --src, the shared upstream snapshot (of the day the core was built)
is unpacked into vpyb's cache (see upstream.py).
"""
from __future__ import annotations

import argparse
import json
import os
import platform
from pathlib import Path

from upstream import BIN, fresh_board, put_unittest, run_tests, source_tree

# run-tests.py with pyboard.py's poll sleep capped at 0.5 ms (the diagnostic run).
FAST_POLL = """\
import runpy, sys, time, types
sys.path[:0] = ['.', '../tools']
import pyboard
clock = types.SimpleNamespace(**{k: getattr(time, k) for k in dir(time) if not k.startswith('__')})
clock.sleep = lambda s: time.sleep(min(s, 0.0005))
pyboard.time = clock
sys.argv = ['run-tests.py'] + sys.argv[1:]
runpy.run_path('run-tests.py', run_name='__main__')
"""


def bench(tree: Path, test_dir: str) -> dict:
    tests = tree / "tests"
    direct = run_tests(tests, ["run-tests.py"], "-d", test_dir,
                       MICROPY_MICROPYTHON=str(BIN / "micropython"))
    with fresh_board() as port:
        put_unittest(tree, port)
        on_board = run_tests(tests, ["run-tests.py"], "-t", port, "-d", test_dir)
        fast_poll = run_tests(tests, ["-c", FAST_POLL], "-t", port, "-d", test_dir)
    return {
        "machine": f"{platform.machine()} {os.cpu_count()} cores, Python {platform.python_version()}",
        "tests": str(tests / test_dir),
        "core_direct": direct,
        "board": on_board,
        "board_over_core_direct": round(on_board["wall_s"] / direct["wall_s"], 2),
        "board_with_pyboard_poll_0.5ms": fast_poll,
        "pyboard_poll_sleeps_s": round(on_board["wall_s"] - fast_poll["wall_s"], 2),
    }


def main() -> None:
    ap = argparse.ArgumentParser()
    source = ap.add_mutually_exclusive_group()
    source.add_argument("--src", help="a MicroPython source tree (tests/ and tools/) of the core's date")
    source.add_argument("--snapshot", help="a snapshot tarball (default: ../shared/upstream's)")
    ap.add_argument("--dir", default="basics", help="the test folder (default basics)")
    a = ap.parse_args()
    print(json.dumps(bench(source_tree(a.src, a.snapshot), a.dir), indent=2))


if __name__ == "__main__":
    main()
