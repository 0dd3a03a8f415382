"""Ready UART peers: a line-based scripted device and bridges that let an
outside program (a terminal, another tool) be the far end of a board UART."""
from __future__ import annotations

import os
import pty
import select
import threading
import tty
from typing import Callable

from .base import UARTPeer


class LinePeer(UARTPeer):
    """Answers each line the board sends: `respond(line) -> reply or None`
    (a dict of line -> reply works too).  Lines arrive without their ending;
    replies are sent as given."""

    def __init__(self, respond: Callable[[str], str | bytes | None] | dict | None = None,
                 encoding: str = "utf-8") -> None:
        self.respond = respond.get if isinstance(respond, dict) else respond
        self.encoding = encoding
        self.lines: list[str] = []
        self._partial = b""

    def receive(self, data: bytes) -> None:
        self._partial += data
        while b"\n" in self._partial:
            raw, self._partial = self._partial.split(b"\n", 1)
            line = raw.rstrip(b"\r").decode(self.encoding, "replace")
            self.lines.append(line)
            reply = self.respond(line) if self.respond else None
            if reply is not None:
                self.send(reply.encode(self.encoding) if isinstance(reply, str) else reply)


class _StreamBridge(UARTPeer):
    # Forwards the board's TX to a file descriptor and the fd's input to RX.
    def _start(self, fd: int) -> None:
        self._fd = fd
        self._stop_r, self._stop_w = os.pipe()
        self._thread = threading.Thread(target=self._pump, daemon=True, name="vpyb-uart-bridge")
        self._thread.start()

    def _pump(self) -> None:
        while True:
            ready, _, _ = select.select([self._fd, self._stop_r], [], [])
            if self._stop_r in ready:
                return
            try:
                data = os.read(self._fd, 4096)
            except OSError:
                data = b""
            if data:
                self.send(data)
            elif not self._reconnect():
                return

    def _reconnect(self) -> bool:
        return False

    def receive(self, data: bytes) -> None:
        try:
            os.write(self._fd, data)
        except OSError:
            pass  # nobody at the far end: the bytes are gone, as on a wire

    def close(self) -> None:
        os.write(self._stop_w, b"x")
        self._thread.join(2)
        for fd in (self._stop_r, self._stop_w, self._fd):
            os.close(fd)


class PtyBridge(_StreamBridge):
    """A new pty whose far end (`path`) is the other side of the UART."""

    def __init__(self) -> None:
        master, slave = pty.openpty()
        tty.setraw(slave)
        self.path = os.ttyname(slave)
        self._slave = slave  # kept open, so the pty survives its users
        self._start(master)

    def close(self) -> None:
        super().close()
        os.close(self._slave)
