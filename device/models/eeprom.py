"""Microchip 24LC-series I2C EEPROMs (24LC256: 32 KiB, 64-byte pages)."""
from __future__ import annotations

from .base import RegisterDevice


class Eeprom24LC(RegisterDevice):
    """A 24LC EEPROM: two address bytes, a write wraps inside its page (the
    datasheet's page-write rule), a read runs on through the whole array.
    Erased cells read 0xFF; the contents outlive board resets."""

    def __init__(self, size: int, page: int) -> None:
        super().__init__(size, addr_bytes=2, registers=b"\xff" * size)
        self.page = page
        self._writing = False

    def write(self, data: bytes) -> int:
        self._writing = len(data) > self.addr_bytes
        return super().write(data)

    def next_address(self, reg: int) -> int:
        if self._writing:
            base = reg - reg % self.page
            return base + (reg + 1 - base) % self.page
        return (reg + 1) % len(self.registers)

    def read(self, n: int) -> bytes:
        self._writing = False
        return super().read(n)


class Eeprom24LC256(Eeprom24LC):
    def __init__(self) -> None:
        super().__init__(32768, 64)
