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
        self.port.timeout = wait
        return self.port.read(max(1, self.port.in_waiting))

    def read_until(self, ending: bytes, timeout: float | None = None) -> bytes:
        """Everything up to and including `ending`; TimeoutError if it never comes."""
        deadline = time.monotonic() + (self.timeout if timeout is None else timeout)
        data = b""
        while (i := data.find(ending)) < 0:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError(f"no {ending!r} from the board; got {data[-200:]!r}")
            data += self.read_available(left)
        end = i + len(ending)
        self._pending = data[end:]
        return data[:end]

    def read_exactly(self, n: int) -> bytes:
        data = self._pending[:n]
        self._pending = self._pending[n:]
        if len(data) < n:
            self.port.timeout = self.timeout
            data += self.port.read(n - len(data))
        if len(data) < n:
            raise TimeoutError(f"wanted {n} bytes from the board, got {data!r}")
        return data

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
