"""Frames between the firmware (firmware/fw_side.py) and the host's models.

A frame is a little-endian u16 length, then that many bytes: for a request
kind, sequence number, payload; for a reply the sequence number and payload;
for an event kind and payload.  Frames are bounded; a core that dies halfway
through one leaves only a partial buffer, dropped with its connection.
"""
from __future__ import annotations

import struct
from typing import Callable

MAX_PAYLOAD = 1024  # fw_side.MAX_PAYLOAD

# Requests (fw_side).
I2C_SCAN, I2C_XFER, SPI_XFER, UART_WRITE, UART_INIT, PIN_CHANGED, TIMER_SET, PROMPT = range(1, 9)
NOTIFICATIONS = (PIN_CHANGED, PROMPT)  # requests without a reply
# Events.
EV_PIN, EV_UART, EV_TIMER = 1, 2, 3


class ProtocolError(Exception):
    pass


class RequestReader:
    """Splits the bytes of one core's request stream into frames."""

    def __init__(self, handle: Callable[[int, bytes], bytes | None]) -> None:
        self._handle = handle
        self._buf = bytearray()

    def feed(self, data: bytes) -> list[bytes]:
        """Handles every whole frame in data; returns the replies to send."""
        self._buf += data
        replies = []
        while len(self._buf) >= 2:
            (n,) = struct.unpack_from("<H", self._buf)
            if not 2 <= n <= MAX_PAYLOAD + 8:
                raise ProtocolError(f"bad frame length {n}")
            if len(self._buf) < 2 + n:
                break
            kind, seq = self._buf[2], self._buf[3]
            payload = bytes(self._buf[4:2 + n])
            del self._buf[:2 + n]
            reply = self._handle(kind, payload)
            if kind not in NOTIFICATIONS:
                replies.append(frame(bytes((seq,)) + (reply or b"")))
        return replies


def frame(body: bytes) -> bytes:
    return struct.pack("<H", len(body)) + body


def event(kind: int, payload: bytes) -> bytes:
    return frame(bytes((kind,)) + payload)
