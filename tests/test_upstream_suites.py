"""MicroPython's own suites pass on the board as on the core directly.

Each suite runs through bench/upstream_suites.py (the installed script's way:
run-tests.py on the core, then against a fresh `vpyb run --ephemeral`;
mpremote's own suite against a fresh board) on the shared upstream snapshot.
Left out of the default run (a few minutes): `python -m pytest -q -m upstream`.
"""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from subreaper import OUTLIVED, wrapped

BENCH = Path(__file__).resolve().parent.parent / "bench"

# The tests that fail on the board and pass on the core directly (for the
# board-only suites ports/stm32 and mpremote: fail at all), each with why.
# A test fixed on the board must leave this list, or the run fails.
KNOWN_BOARD_FAILURES = {
    "basics/class_setname_hazard_rand.py":
        "its 64-bit objects (twice a PYBv1.1's bytes) run out of the board-sized heap",
    "mpremote/test_resume.sh":
        "its last step reconnects after `disconnect`, which mpremote does by `connect auto`: "
        "that takes only USB serial ports (a VID and PID), and a pty has none "
        "(a real Pyboard on USB would be found)",
}

# How many tests the board performs of each suite at the snapshot: the rest it
# skips, as run-tests.py skips them for a pyboard or as they find a feature
# missing (sockets, ssl, a POSIX VFS...).  A test that starts skipping shows here.
BOARD_PERFORMS = {
    "basics": 544, "micropython": 100, "extmod": 139, "float": 68, "misc": 5, "unicode": 11,
    "stress": 12, "ports/stm32": 27, "mpremote": 8,
}

# A suite on a loaded 2-core machine: basics, the longest, takes ~1.5 min unloaded.
SUITE_TIMEOUT_S = 900

pytestmark = [pytest.mark.upstream, pytest.mark.timeout(SUITE_TIMEOUT_S)]


@pytest.fixture(scope="module")
def snapshot() -> Path:
    sys.path.insert(0, str(BENCH))
    try:
        from upstream import default_snapshot
    finally:
        sys.path.remove(str(BENCH))
    found = default_snapshot()
    if found is None:
        pytest.skip("no upstream MicroPython snapshot at ../shared/upstream/micropython-*.tar.xz "
                    "beside the repository (the suites need MicroPython's tests)")
    return found


def run_suite(snapshot: Path, suite: str) -> dict:
    """The script's JSON for one suite; every process it started has ended."""
    proc = subprocess.Popen(wrapped(sys.executable, str(BENCH / "upstream_suites.py"),
                                    "--snapshot", str(snapshot), "--suite", suite),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)
    try:
        out, err = proc.communicate()
    finally:
        if proc.poll() is None:  # the timeout struck: its board ends with it (SIGTERM)
            os.killpg(proc.pid, signal.SIGTERM)
            proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    assert OUTLIVED not in err, err
    return json.loads(out)["suites"][suite]


@pytest.mark.parametrize("suite", list(BOARD_PERFORMS))
def test_suite_passes_on_the_board_as_on_the_core(snapshot, suite):
    result = run_suite(snapshot, suite)
    board, direct = result["board"], result["core_direct"]
    known = {name for name in KNOWN_BOARD_FAILURES if name.startswith(suite + "/")}
    failing = set(result["fail_on_board_only"])
    assert not failing - known, (f"failing on the board only: {sorted(failing - known)}",
                                 board.get("diffs"))
    assert not known - failing, ("passing now: take them out of KNOWN_BOARD_FAILURES",
                                 sorted(known - failing))
    skipped_here = sorted(set(board["skipped"]) - set(direct["skipped"] if direct else []))
    assert board["performed"] == BOARD_PERFORMS[suite], f"the board skips: {skipped_here}"
