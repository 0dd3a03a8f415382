"""A log that a misbehaving core can't flood: lines it causes in a loop
(bad requests, a model failing on every transfer) are said a few at a time."""
from __future__ import annotations

import time
from typing import Callable

BURST = 5  # lines said per period
PERIOD = 10.0  # seconds


class RateLimitedLog:
    """Says at most BURST lines per PERIOD seconds; the next line said after
    some were held back tells how many."""

    def __init__(self, log: Callable[[str], None]) -> None:
        self._log = log
        self._since = -PERIOD
        self._said = 0
        self._held = 0

    def __call__(self, msg: str) -> None:
        now = time.monotonic()
        if now - self._since >= PERIOD:
            self._since = now
            self._said = 0
        if self._said >= BURST:
            self._held += 1
            return
        self._said += 1
        if self._held:
            msg += f" ({self._held} more such lines not shown)"
            self._held = 0
        self._log(msg)
