"""The raw-REPL run a client waits on, followed from the bytes on the wire,
so that a run whose core dies ends for its client with an error instead of
never (mpremote and pyboard.py wait for a run's end without a timeout).

A real board's USB device disappears at a reset, and the client's port with
it.  vpyb keeps the port (DESIGN.md decision 2: clients stay connected and
see the new core's banner), so the host ends the run in the raw REPL's own
framing (protocol-facts.md sections 3-4): what the client still waits for of
`OK` · stdout · `\\x04` · error text · `\\x04` · `>`, with the error text
naming what happened, e.g. `vpyb: core crashed (SIGSEGV): hard reset`
(RawRepl raises BoardReset for it).

Only the bytes are read: a run starts when the client submits code at the
raw prompt (`\\x04` after some code, or the raw-paste request `\\x05A\\x01`)
and the board answers (`OK`, or `R\\x01`); it ends with its last `\\x04`.
"""
from __future__ import annotations

import re
import time

from ..protocol.constants import RAW_PASTE_OK, RAW_PASTE_UNSUPPORTED, RAW_PROMPT, RUN_CUT_SHORT

PASTE_WINDOW = 128  # fw_raw._WINDOW, a PYBv1.1's
# After a raw-paste run is ended early, the client acknowledges with \x04
# (or cancels with \x03); what it sends until then is the rest of its code,
# which must not reach the next core's friendly REPL as typed input.
SWALLOW_FOR = 1.0  # seconds
_CONTROL = re.compile(rb"[\x01-\x04]")
_CODE_END = re.compile(rb"[\x03\x04]")

# Where the board is, as the client sees it.
FRIENDLY, AT_RAW_PROMPT, SUBMITTED, PASTE_ASKED, RUN = range(5)


class RawRuns:
    def __init__(self) -> None:
        self.reset(raw=False)

    def reset(self, raw: bool) -> None:
        """A new session begins, in the raw REPL or the friendly one."""
        self._state = AT_RAW_PROMPT if raw else FRIENDLY
        self._typed = b""  # the command's first bytes at the raw prompt (a paste request?)
        self._ends_left = 0  # \x04s the client still waits for in this run
        self._paste = False  # a raw-paste run...
        self._code_sent = False  # ...whose code the client has finished sending
        self._tail = b""  # the end of the output, for a banner split between reads
        self._swallow_until = 0.0

    # --- client -> board ----------------------------------------------
    def sent(self, data: bytes) -> bytes:
        """Follows what the client sends; returns what goes on to the board."""
        if self._swallow_until:
            data = self._swallow(data)
        if self._state == AT_RAW_PROMPT:
            self._command(data)
        elif self._state == RUN and self._paste and not self._code_sent:
            self._code_sent = b"\x03" in data or b"\x04" in data
        return data

    def _command(self, data: bytes) -> None:
        # The raw REPL's input rules (fw_raw.raw_repl): \x01 restarts the
        # command (or asks for raw paste after \x05 and one byte), \x02 leaves,
        # \x03 clears, \x04 submits (an empty command is a soft reset).
        at = 0
        for m in _CONTROL.finditer(data):
            typed = (self._typed + data[at:m.start()])[:3]
            c = m.group()
            at = m.end()
            self._typed = b""
            if c == b"\x01":
                if len(typed) == 2 and typed[0] == 5:
                    self._state = PASTE_ASKED
                    return
            elif c == b"\x02":
                self._state = FRIENDLY
                return
            elif c == b"\x04" and typed:
                self._state = SUBMITTED
                return
        self._typed = (self._typed + data[at:])[:3]

    def _swallow(self, data: bytes) -> bytes:
        if time.monotonic() > self._swallow_until:
            self._swallow_until = 0.0
            return data
        m = _CODE_END.search(data)
        if m is None:
            return b""
        self._swallow_until = 0.0
        return data[m.end():]

    # --- board -> client ----------------------------------------------
    def printed(self, data: bytes) -> None:
        """Follows what the board sends its client."""
        state = self._state
        if state == RUN:
            self._count_ends(data)
        elif state == FRIENDLY or state == AT_RAW_PROMPT:
            # A run's output isn't copied: only the banner's length of it.
            n = len(RAW_PROMPT)
            if RAW_PROMPT in data or RAW_PROMPT in self._tail + data[:n]:
                self._state, self._typed = AT_RAW_PROMPT, b""
            self._tail = data[-n:] if len(data) >= n else (self._tail + data)[-n:]
        elif state == SUBMITTED:
            at = data.find(b"OK")
            if at >= 0:
                self._start(paste=False)
                self._count_ends(data[at + 2:])
        elif state == PASTE_ASKED:
            at = data.find(RAW_PASTE_OK)
            if at >= 0:
                self._start(paste=True)
                self._count_ends(data[at + 4:])  # after the window's two bytes
            elif RAW_PASTE_UNSUPPORTED in data:
                self._state = AT_RAW_PROMPT  # the raw prompt again

    def _start(self, paste: bool) -> None:
        self._state = RUN
        self._paste = paste
        self._code_sent = False
        # stdout's end and the error text's end; raw paste first acknowledges
        # the end of the code with one of its own.
        self._ends_left = 3 if paste else 2

    def _count_ends(self, data: bytes) -> None:
        self._ends_left -= data.count(b"\x04")
        if self._ends_left <= 0:  # the `>` follows (or a soft reset, after SystemExit)
            self._state, self._tail = AT_RAW_PROMPT, b""

    # --- the core died ------------------------------------------------
    def cut_short(self, why: str) -> bytes:
        """What ends the run in progress for its client (b"" if none), the
        error text being `why`; the new session starts in the friendly REPL."""
        state = self._state
        code_pending = state == PASTE_ASKED or (state == RUN and self._paste and not self._code_sent)
        if state == SUBMITTED:
            answer, ends = b"OK", 2
        elif state == PASTE_ASKED:
            answer, ends = RAW_PASTE_OK + PASTE_WINDOW.to_bytes(2, "little"), 3
        elif state == RUN:
            answer, ends = b"", self._ends_left
        else:
            ends = 0
        self.reset(raw=False)
        if code_pending:
            self._swallow_until = time.monotonic() + SWALLOW_FOR
        if not ends:
            return b""
        # The client reads the error text up to the run's last \x04, then `>`.
        return (answer + b"\x04" * (ends - 1) + RUN_CUT_SHORT + why.encode("ascii", "replace")
                + b"\r\n\x04>")
