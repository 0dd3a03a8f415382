"""The board's serial port as a pty: what a host tool opens as /dev/pts/N."""
from __future__ import annotations

import os
import pty
import termios
import tty
from pathlib import Path


class PtyEndpoint:
    def __init__(self, link: str | None = None) -> None:
        self.master, self._slave = pty.openpty()
        # Raw, so neither side rewrites bytes until a client sets its own mode.
        # Holding the slave open keeps the master readable between clients.
        tty.setraw(self._slave, termios.TCSANOW)
        os.set_blocking(self.master, False)
        self.port = os.ttyname(self._slave)
        self.link = Path(link) if link else None
        if self.link:
            if self.link.is_symlink():
                self.link.unlink()
            self.link.symlink_to(self.port)

    def close(self) -> None:
        if self.link and self.link.is_symlink() and os.readlink(self.link) == self.port:
            self.link.unlink()
        for fd in (self.master, self._slave):
            try:
                os.close(fd)
            except OSError:
                pass
