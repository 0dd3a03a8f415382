"""Runs a command as a child subreaper (prctl PR_SET_CHILD_SUBREAPER): any
process of the command's that outlives it comes to the wrapper instead of
init, and the wrapper names it on stderr (then ends it).  A test thus checks
that command's cores alone, whatever other boards run on the machine."""
from __future__ import annotations

import sys

OUTLIVED = "processes that outlived the command:"
_WRAPPER = f"""
import ctypes, os, subprocess, sys, time
ctypes.CDLL(None).prctl(36, 1, 0, 0, 0)  # PR_SET_CHILD_SUBREAPER
code = subprocess.call(sys.argv[1:])

def orphans():
    found = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            state, ppid = open(f"/proc/{{pid}}/stat").read().rsplit(")", 1)[1].split()[:2]
        except OSError:
            continue
        if int(ppid) == os.getpid() and state != "Z":
            found.append(int(pid))
    return found

deadline = time.monotonic() + 5  # a core ends with its host: give it time
while (left := orphans()) and time.monotonic() < deadline:
    time.sleep(0.05)
if left:
    print({OUTLIVED!r}, left, file=sys.stderr)
    for pid in left:
        os.kill(pid, 9)
sys.exit(code)
"""


def wrapped(*command: str) -> list[str]:
    """The command line that runs `command` under the wrapper."""
    return [sys.executable, "-c", _WRAPPER, *command]
