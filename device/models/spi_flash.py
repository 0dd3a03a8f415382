"""A SPI NOR flash (W25Q-style command set), one command per chip select."""
from __future__ import annotations

from .base import SPIDevice

READ, FAST_READ, PAGE_PROGRAM, WRITE_ENABLE, WRITE_DISABLE = 0x03, 0x0B, 0x02, 0x06, 0x04
READ_STATUS, SECTOR_ERASE, BLOCK_ERASE, CHIP_ERASE, JEDEC_ID, RELEASE_PD = 0x05, 0x20, 0xD8, 0xC7, 0x9F, 0xAB


class SpiNorFlash(SPIDevice):
    """Erased bytes are 0xFF; programming only clears bits; page programs
    wrap in their 256-byte page; writes need WRITE_ENABLE first.  Operations
    complete at once (the busy bit never shows)."""

    def __init__(self, size: int = 1 << 20, jedec_id: bytes = b"\xef\x40\x14") -> None:
        self.data = bytearray(b"\xff" * size)
        self.jedec_id = jedec_id
        self.write_enabled = False
        self._cmd: bytearray = bytearray()

    def select(self) -> None:
        self._cmd = bytearray()

    def deselect(self) -> None:
        cmd = self._cmd
        if cmd and cmd[0] in (SECTOR_ERASE, BLOCK_ERASE, CHIP_ERASE) and self.write_enabled:
            size = {SECTOR_ERASE: 4096, BLOCK_ERASE: 65536, CHIP_ERASE: len(self.data)}[cmd[0]]
            start = 0 if cmd[0] == CHIP_ERASE else self._address(cmd) // size * size
            self.data[start:start + size] = b"\xff" * size
        if cmd and cmd[0] in (SECTOR_ERASE, BLOCK_ERASE, CHIP_ERASE, PAGE_PROGRAM):
            self.write_enabled = False
        self._cmd = bytearray()

    def _address(self, cmd: bytes) -> int:
        return int.from_bytes(cmd[1:4], "big") % len(self.data)

    def transfer(self, data: bytes) -> bytes:
        out = bytearray()
        for b in data:
            out.append(self._byte(len(self._cmd), b))
            self._cmd.append(b)
        return bytes(out)

    def _byte(self, i: int, b: int) -> int:
        # The byte the flash shifts out while receiving byte i (b) of a command.
        if i == 0:
            if b == WRITE_ENABLE:
                self.write_enabled = True
            elif b == WRITE_DISABLE:
                self.write_enabled = False
            return 0xFF
        op = self._cmd[0]
        if op == JEDEC_ID:
            return self.jedec_id[i - 1] if i <= len(self.jedec_id) else 0xFF
        if op == READ_STATUS:
            return 0x02 if self.write_enabled else 0x00
        data_at = {READ: 4, FAST_READ: 5, PAGE_PROGRAM: 4}.get(op)
        if data_at is None or i < data_at:
            return 0xFF
        addr = self._address(self._cmd)
        if op == PAGE_PROGRAM:
            if self.write_enabled:
                page = addr - addr % 256
                at = page + (addr + i - data_at) % 256
                self.data[at] &= b
            return 0xFF
        return self.data[(addr + i - data_at) % len(self.data)]
