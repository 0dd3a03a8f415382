"""What a peripheral model implements.  The host calls these from the board's
wire thread while the board's code waits for the answer, so keep them quick."""
from __future__ import annotations

from typing import Callable


class I2CNack(Exception):
    """Raise from an I2C model to NACK (the board sees ENODEV / EIO)."""


class I2CTimeout(Exception):
    """Raise from an I2C model for a stuck bus (the board sees ETIMEDOUT)."""


class I2CDevice:
    """A device on an I2C bus.  A transaction is write() (if the controller
    writes), then read() (if it reads, after a repeated start)."""

    def write(self, data: bytes) -> int:
        """Takes the bytes written; returns how many were ACKed."""
        return len(data)

    def read(self, n: int) -> bytes:
        return b"\xff" * n


class RegisterDevice(I2CDevice):
    """An I2C register map: the first written byte(s) set the register
    pointer, further bytes are stored; reads continue from the pointer.
    Both auto-increment, wrapping at the end of the map."""

    def __init__(self, size: int = 256, addr_bytes: int = 1, registers: bytes = b"") -> None:
        self.registers = bytearray(size)
        self.registers[:len(registers)] = registers
        self.addr_bytes = addr_bytes
        self.pointer = 0

    def write(self, data: bytes) -> int:
        if len(data) < self.addr_bytes:
            return len(data)
        self.pointer = int.from_bytes(data[:self.addr_bytes], "big") % len(self.registers)
        for b in data[self.addr_bytes:]:
            self.store(self.pointer, b)
            self.pointer = self.next_address(self.pointer)
        return len(data)

    def read(self, n: int) -> bytes:
        out = bytearray()
        for _ in range(n):
            out.append(self.load(self.pointer))
            self.pointer = self.next_address(self.pointer)
        return bytes(out)

    def store(self, reg: int, value: int) -> None:
        self.registers[reg] = value

    def load(self, reg: int) -> int:
        return self.registers[reg]

    def next_address(self, reg: int) -> int:
        return (reg + 1) % len(self.registers)


class SPIDevice:
    """A device on an SPI bus behind a chip-select pin (active low)."""

    def select(self) -> None:
        """Chip select went low: a new command starts."""

    def deselect(self) -> None:
        """Chip select went high: the command ends."""

    def transfer(self, data: bytes) -> bytes:
        """Full duplex: returns as many bytes as it was given."""
        return b"\xff" * len(data)


class UARTPeer:
    """The far end of a board UART.  `send` (set when attached) delivers
    bytes to the board's RX."""

    send: Callable[[bytes], None] = staticmethod(lambda data: None)

    def attached(self, send: Callable[[bytes], None]) -> None:
        self.send = send

    def receive(self, data: bytes) -> None:
        """Bytes the board transmitted."""

    def close(self) -> None:
        """The board is stopping."""
