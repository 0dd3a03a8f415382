"""Reading a board's serial stream up to a marker, without losing what
arrives after it (the next read gets it first)."""
from __future__ import annotations

import time

import serial


def open_port(port: str | serial.SerialBase, timeout: float) -> serial.SerialBase:
    """A pyserial port for a device path or URL (pty, socket://, rfc2217://);
    an already open port is used as it is."""
    if isinstance(port, str):
        return serial.serial_for_url(port, baudrate=115200, timeout=timeout)
    return port


class PortReader:
    def __init__(self, port: serial.SerialBase, timeout: float) -> None:
        self.port = port
        self.timeout = timeout
        self._pending = b""

    def read_available(self, wait: float) -> bytes:
        """What has arrived, waiting up to `wait` seconds for the first byte."""
        if self._pending:
            data, self._pending = self._pending, b""
            return data
        self._set_timeout(wait)
        return self.port.read(max(1, self.port.in_waiting))

    def _set_timeout(self, wait: float) -> None:
        # pyserial re-applies the tty settings on every change: only when it differs.
        if self.port.timeout != wait:
            self.port.timeout = wait

    def read_until(self, ending: bytes, timeout: float | None = None) -> bytes:
        """Everything up to and including `ending`; TimeoutError if it never comes."""
        wait = self.timeout if timeout is None else timeout
        deadline = time.monotonic() + wait
        data = b""
        while (i := data.find(ending)) < 0:
            if time.monotonic() >= deadline:
                raise TimeoutError(f"no {ending!r} from the board; got {data[-200:]!r}")
            # Each wait is the whole timeout (a fixed one keeps the port's
            # settings), so giving up can take up to twice the timeout.
            data += self.read_available(wait)
        end = i + len(ending)
        self._pending = data[end:]
        return data[:end]

    def read_exactly(self, n: int) -> bytes:
        data = self._pending[:n]
        self._pending = self._pending[n:]
        if len(data) < n:
            self._set_timeout(self.timeout)
            data += self.port.read(n - len(data))
        if len(data) < n:
            raise TimeoutError(f"wanted {n} bytes from the board, got {data!r}")
        return data

    def unread(self, data: bytes) -> None:
        """Puts bytes back: the next read gets them first."""
        self._pending = data + self._pending

    def waiting(self) -> int:
        return len(self._pending) + self.port.in_waiting

    def drop_stale(self) -> None:
        """Forgets everything the board sent before now."""
        self._pending = b""
        self.port.reset_input_buffer()

    def discard(self, quiet: float) -> None:
        """Drop everything until the board has been quiet for `quiet` seconds."""
        self._pending = b""
        self.port.timeout = quiet
        while self.port.read(4096):
            pass
