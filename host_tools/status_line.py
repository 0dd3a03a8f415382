"""A status line on a terminal's bottom row that stays while text scrolls
above it: the console's toolbar while the board runs code.

The rows above it are made a scroll region (DECSTBM, as apt draws its
progress line), so the board's output goes to the terminal as it comes,
escapes and unfinished lines (an input() prompt) included, and never
scrolls the status line away.  The line is redrawn on a timer, with the
cursor saved and restored around it (DECSC/DECRC)."""
from __future__ import annotations

import time
from typing import Callable

from prompt_toolkit import print_formatted_text
from prompt_toolkit.formatted_text import FormattedText, StyleAndTextTuples
from prompt_toolkit.output import Output
from prompt_toolkit.utils import get_cwidth

SAVE, RESTORE = "\x1b7", "\x1b8"
STYLE = "class:bottom-toolbar"  # what prompt_toolkit's bottom toolbar looks like


class StatusLine:
    def __init__(self, output: Output, fragments: Callable[[], StyleAndTextTuples], interval: float) -> None:
        self.output = output
        self.fragments = fragments
        self.interval = interval
        self._rows = 0
        self._drawn_at = 0.0

    def __enter__(self) -> StatusLine:
        # A newline first: if the cursor is on the bottom row the screen
        # scrolls up one, so it is inside the region once that is set.
        self.output.write_raw("\n")
        self._set_region()
        self.output.write_raw("\x1b[A")
        self._draw()
        return self

    def tick(self) -> None:
        """Redraws the line when it is due (and the region, if the terminal
        changed size)."""
        if time.monotonic() - self._drawn_at < self.interval:
            return
        if self.output.get_size().rows != self._rows:
            self._set_region()
        self._draw()

    def __exit__(self, *exc: object) -> None:
        # Resetting the region homes the cursor: saved and restored around it.
        self.output.write_raw(SAVE + "\x1b[r" + RESTORE)
        self.output.write_raw(SAVE)
        self.output.cursor_goto(self._rows, 1)
        self.output.write_raw("\x1b[2K" + RESTORE)
        self.output.flush()

    def _set_region(self) -> None:
        self._rows = self.output.get_size().rows
        self.output.write_raw(f"{SAVE}\x1b[1;{self._rows - 1}r{RESTORE}")

    def _draw(self) -> None:
        width = self.output.get_size().columns - 1  # the last column would wrap
        line: StyleAndTextTuples = []
        for style, text, *_ in self.fragments():
            while text and get_cwidth(text) > width:
                text = text[:-1]
            width -= get_cwidth(text)
            line.append((f"{STYLE} {style}", text))
        line.append((STYLE, " " * width))
        self.output.write_raw(SAVE)
        self.output.cursor_goto(self._rows, 1)
        self.output.write_raw("\x1b[2K")
        print_formatted_text(FormattedText(line), output=self.output, end="")
        self.output.write_raw(RESTORE)
        self.output.flush()
        self._drawn_at = time.monotonic()
