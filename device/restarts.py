"""When a board's next core starts after one exited: at once, after a
pause, or never (DESIGN.md decision 10).

A core that can't start (its flash image unreadable, a broken --micropython
binary) used to be restarted 12-21 times a second, each leaving a traceback;
a main.py that crashes the core on every boot did the same.  Now the first
QUICK exits in a row restart at once (a crash or a reset is a normal thing
for a board), later ones wait, twice as long each time up to MAX_PAUSE; and
GIVE_UP starts in a row that failed by themselves end the board's tries.  A
core that reached its prompt, or ran for STABLE seconds, ends the run.
"""
from __future__ import annotations

import time

QUICK = 5
FIRST_PAUSE = 0.05  # seconds
MAX_PAUSE = 1.0
GIVE_UP = 10  # 5 at once, then 0.05 + 0.1 + 0.2 + 0.4 + 0.8 s of pauses
STABLE = 2.0  # seconds
LOG_EVERY = 10  # a loop is reported when its exits change kind, and every 10th


class Restarts:
    def __init__(self) -> None:
        self.exits = 0  # in a row, without a prompt in between
        self.failed_starts = 0  # in a row: the core ended by itself before its prompt
        self._kind = ""  # how the last one ended
        self._new_kind = True

    def ready(self) -> None:
        """The core reached its prompt."""
        self.exits = self.failed_starts = 0
        self._kind = ""

    def exited(self, started_at: float, failed_start: bool, kind: str) -> float | None:
        """A core exited that was not asked to: the pause before the next one,
        or None to give up.  failed_start: it ended by itself (not a crash, a
        reset or a kill) or never ran; kind: how it ended, in a few words."""
        if time.monotonic() - started_at >= STABLE:
            self.ready()
        self.exits += 1
        self._new_kind = kind != self._kind
        self._kind = kind
        self.failed_starts = self.failed_starts + 1 if failed_start else 0
        if self.failed_starts >= GIVE_UP:
            return None
        if self.exits <= QUICK:
            return 0.0
        return min(MAX_PAUSE, FIRST_PAUSE * 2 ** (self.exits - QUICK - 1))

    def worth_saying(self) -> bool:
        """Whether the last exit is reported: not every one of a loop."""
        return self._new_kind or self.exits % LOG_EVERY == 0
