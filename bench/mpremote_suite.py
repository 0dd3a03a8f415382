"""mpremote's own test suite (upstream tools/mpremote/tests) against a board.

Each tests/test_*.sh calls `$MPREMOTE ...` without `connect`: $MPREMOTE here
is a wrapper running `mpremote connect PORT "$@"`.  As upstream's
run-mpremote-tests.sh does, each test gets an empty $TMP, its output (stdout
and stderr together, CRs dropped, $TMP's path written `${TMP}`) must equal
its .exp file.  The .exp files are the baseline: upstream recorded them on
real boards.  Tests are named as the other suites name theirs, by suite:
"mpremote/test_resume.sh".
"""
from __future__ import annotations

import compileall
import difflib
import os
import shlex
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from upstream import BIN

# Every test starts mpremote some dozens of times; test_filesystem over 100.
TEST_TIMEOUT_S = 600


def mpremote_command(tree: Path, which: str) -> list[str]:
    """'snapshot': the tree's own tools/mpremote, the build its tests are
    written for (upstream's runner uses it too); 'installed': vpyb's mpremote."""
    if which == "snapshot":
        # Compiled once: each test starts it dozens of times, and with
        # PYTHONDONTWRITEBYTECODE set each start would compile it again (~0.3 s).
        compileall.compile_dir(tree / "tools" / "mpremote" / "mpremote", quiet=1)
        return [sys.executable, str(tree / "tools" / "mpremote" / "mpremote.py")]
    return [str(BIN / "mpremote")]


def run_mpremote_suite(tree: Path, port: str, which: str = "snapshot") -> dict:
    tests = tree / "tools" / "mpremote" / "tests"
    env = dict(os.environ)
    # The .exp files were made with Python's stdout block-buffered into the
    # pipe: mpremote's own print()s (mount's "Local directory ... is mounted")
    # come out at its exit, after the board's output, which it flushes as it
    # comes.  PYTHONUNBUFFERED would put them first.
    env.pop("PYTHONUNBUFFERED", None)
    passed, failed, diffs = [], [], {}
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="vpyb-mpremote-") as scratch:
        wrapper = Path(scratch) / "mpremote"
        wrapper.write_text("#!/bin/sh\nexec " + shlex.join([*mpremote_command(tree, which), "connect", port])
                           + ' "$@"\n')
        wrapper.chmod(0o755)
        for test in sorted(tests.glob("test_*.sh")):
            with tempfile.TemporaryDirectory() as tmp:
                out = subprocess.run(["bash", str(test)], cwd=tests, stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT, timeout=TEST_TIMEOUT_S,
                                     env={**env, "MPREMOTE": str(wrapper), "TMP": tmp}).stdout
            got = out.replace(b"\r", b"").replace(tmp.encode(), b"${TMP}").decode(errors="replace")
            want = (tests / (test.name + ".exp")).read_text()
            name = f"mpremote/{test.name}"
            if got == want:
                passed.append(name)
            else:
                failed.append(name)
                diffs[name] = list(difflib.unified_diff(want.splitlines(), got.splitlines(),
                                                        "expected", "on the board", lineterm=""))
    return {"wall_s": round(time.perf_counter() - t0, 2), "mpremote": which,
            "performed": len(passed) + len(failed), "passed": len(passed), "failed": failed,
            "skipped": [], "diffs": diffs}
