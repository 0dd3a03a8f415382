"""A board's serial transcript for a test: every byte on its serial line,
sent and printed, written to a log file as it passes, its last lines kept for
a failure report, and what the board printed searched by `expect()` (as
pytest-embedded's `dut.expect`).

A virtual board's wire feeds it every byte (VirtualBoard's serial_trace), so
it sees what any tool sent, mpremote included; on a real board it sees the
fixture's own client (TappedSerial).
"""
from __future__ import annotations

import re
import threading
import time
from collections import deque
from pathlib import Path
from typing import Any, Callable

TAIL_LINES = 30
KEPT = 1 << 20  # printed bytes kept for expect(): the last MiB
_LINES = re.compile(rb"[^\n]*\n|[^\n]+")  # a line ends at \n only (\r alone shows as \r)


class ExpectTimeout(AssertionError):
    """expect() saw no match in time: the bytes it saw and the log say why."""


def _show(data: bytes) -> str:
    # A line of the log as a bytes literal writes it: \r, \x04, \xNN.
    return repr(data)[2:-1]


def as_regex(pattern: str | bytes | re.Pattern) -> re.Pattern[bytes]:
    """A regular expression (str, bytes or compiled, as pytest-embedded's
    expect takes it; re.escape() for literal text), searched in the bytes the
    board printed."""
    if isinstance(pattern, (str, bytes)):
        return re.compile(pattern.encode() if isinstance(pattern, str) else pattern)
    if isinstance(pattern.pattern, str):
        return re.compile(pattern.pattern.encode(), pattern.flags & ~re.UNICODE)
    return pattern


class Transcript:
    """A log line is a line of one direction, stamped with the time its first
    byte came (seconds since the board started) and `<` printed or `>` sent;
    a line still open is ended when the other direction speaks."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._file = path.open("w", encoding="utf-8")
        self._started = time.monotonic()
        self._tail: deque[str] = deque(maxlen=TAIL_LINES)
        self._open: tuple[bool, str, bytes] | None = None  # direction, stamp, bytes of an unended line
        self._printed = bytearray()  # what the board printed since the last match
        self._changed = threading.Condition()

    def __call__(self, sent: bool, data: bytes) -> None:
        """Takes bytes off the line (any thread): sent to the board, or printed by it."""
        if not data:
            return
        with self._changed:
            stamp = f"[{time.monotonic() - self._started:8.3f}] {'>' if sent else '<'} "
            line = data
            if self._open is not None and self._open[0] == sent:
                _, stamp, head = self._open
                line = head + data
            else:
                self._end_line()
            pieces = _LINES.findall(line)
            self._open = None if pieces[-1].endswith(b"\n") else (sent, stamp, pieces.pop())
            self._write([stamp + _show(piece.rstrip(b"\r\n")) for piece in pieces])
            if not sent:
                self._printed += data
                del self._printed[:-KEPT]
                self._changed.notify_all()

    def _end_line(self) -> None:
        if self._open is not None:
            _, stamp, head = self._open
            self._open = None
            self._write([stamp + _show(head)])

    def _write(self, lines: list[str]) -> None:
        self._tail.extend(lines)
        if lines and not self._file.closed:  # a board's last bytes may come as it stops
            self._file.write("\n".join(lines) + "\n")
            self._file.flush()

    def tail(self) -> str:
        with self._changed:
            self._end_line()
            return "\n".join(self._tail)

    def expect(self, pattern: str | bytes | re.Pattern, timeout: float,
               pull: Callable[[float], Any] | None = None) -> re.Match[bytes]:
        """The first match in what the board printed since the last match
        (which it consumes); ExpectTimeout with the bytes seen and the log's
        path if none comes within `timeout` seconds.  pull(wait): reads the
        port for up to `wait` s, for a board whose bytes don't come by themselves."""
        regex = as_regex(pattern)
        deadline = time.monotonic() + timeout
        with self._changed:
            # A copy: the match must outlive the bytes it consumes.
            while (m := regex.search(bytes(self._printed))) is None:
                left = deadline - time.monotonic()
                if left <= 0:
                    seen = bytes(self._printed[-400:])
                    raise ExpectTimeout(
                        f"no match for {regex.pattern!r} within {timeout:g} s; the board printed "
                        f"{'...' if len(self._printed) > 400 else ''}{seen!r} since the last match; "
                        f"full serial log: {self.path}")
                if pull is None:
                    self._changed.wait(left)
                else:
                    self._changed.release()
                    try:
                        pull(min(left, 0.1))
                    finally:
                        self._changed.acquire()
            del self._printed[:m.end()]
            return m

    def close(self) -> None:
        with self._changed:
            self._end_line()
            self._file.close()


class TappedSerial:
    """A pyserial port whose traffic goes to a transcript too (a real board's)."""

    def __init__(self, port: Any, trace: Callable[[bool, bytes], None]) -> None:
        self._port = port
        self._trace = trace

    @property
    def timeout(self) -> float | None:
        return self._port.timeout

    @timeout.setter
    def timeout(self, value: float | None) -> None:
        self._port.timeout = value

    def read(self, size: int = 1) -> bytes:
        data = self._port.read(size)
        if data:
            self._trace(False, data)
        return data

    def write(self, data: bytes) -> int | None:
        self._trace(True, data)
        return self._port.write(data)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._port, name)
