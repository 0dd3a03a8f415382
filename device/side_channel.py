"""Frames between the firmware (firmware/fw_side.py) and the host's models.

A frame is a little-endian u16 length, then that many bytes: for a request
kind, sequence number, payload; for a reply the sequence number and payload;
for an event kind and payload.  Frames are bounded; a core that dies halfway
through one leaves only a partial buffer, dropped with its connection.

The core is untrusted (user code can write to its end of the channel): a
length out of bounds loses the framing and is a ProtocolError, a request of
an unknown kind or with a payload the firmware never sends is answered
empty and reported, never handed to a model.
"""
from __future__ import annotations

import struct
from typing import Callable

MAX_PAYLOAD = 1024  # fw_side.MAX_PAYLOAD
MAX_FRAME = MAX_PAYLOAD + 2  # kind and sequence number, then the payload

# Requests (fw_side).
(I2C_SCAN, I2C_XFER, SPI_XFER, UART_WRITE, UART_INIT, PIN_CHANGED, TIMER_SET, PROMPT,
 SOFT_RESET) = range(1, 10)
NOTIFICATIONS = (PIN_CHANGED, PROMPT, SOFT_RESET)  # requests without a reply
# The payload sizes (least, most) the firmware sends for each request.
PAYLOAD_SIZES = {
    I2C_SCAN: (2, 2),  # SCL pin, SDA pin
    I2C_XFER: (5, MAX_PAYLOAD),  # SCL, SDA, address, u16 bytes to read (bit 15: stop), data
    SPI_XFER: (1, MAX_PAYLOAD),  # SCK pin, data
    UART_WRITE: (1, MAX_PAYLOAD),  # unit, data
    UART_INIT: (9, 9),  # unit, bits, parity, stop bits, enabled, u32 baud rate
    PIN_CHANGED: (3, 3),  # port, u16 ODR
    TIMER_SET: (6, 6),  # slot, one-shot, u32 period in us (0: off)
    PROMPT: (0, 0),
    SOFT_RESET: (1, MAX_PAYLOAD),  # the REPL's mode, the input left unread
}
# Events.
EV_PIN, EV_UART, EV_TIMER = 1, 2, 3


class ProtocolError(Exception):
    """The request stream can't be split into frames any more."""


class BadRequest(ValueError):
    """A well-framed request that the firmware would never send."""


class RequestReader:
    """Splits the bytes of one core's request stream into frames and answers
    them: `handle(kind, payload)` for a valid request, `report(why)` for a
    bad one."""

    def __init__(self, handle: Callable[[int, bytes], bytes | None],
                 report: Callable[[str], None]) -> None:
        self._handle = handle
        self._report = report
        self._buf = bytearray()

    def feed(self, data: bytes) -> bytes:
        """Handles every whole frame in data; returns the replies to send."""
        self._buf += data
        replies = bytearray()
        while len(self._buf) >= 2:
            (n,) = struct.unpack_from("<H", self._buf)
            if not 2 <= n <= MAX_FRAME:
                raise ProtocolError(f"bad frame length {n}")
            if len(self._buf) < 2 + n:
                break
            kind, seq = self._buf[2], self._buf[3]
            payload = bytes(self._buf[4:2 + n])
            del self._buf[:2 + n]
            sizes = PAYLOAD_SIZES.get(kind)
            if sizes is None or not sizes[0] <= len(payload) <= sizes[1]:
                self._report(f"bad request from the core: kind {kind}, {len(payload)} bytes")
                reply = None
            else:
                reply = self._handle(kind, payload)
            if kind not in NOTIFICATIONS:
                replies += frame(bytes((seq,)) + (reply or b""))
        return bytes(replies)


def frame(body: bytes) -> bytes:
    return struct.pack("<H", len(body)) + body


def event(kind: int, payload: bytes) -> bytes:
    return frame(bytes((kind,)) + payload)
