"""The Pyboard's MMA7660 accelerometer (I2C address 76, powered by MMA_AVDD)."""
from __future__ import annotations

from .base import RegisterDevice

XOUT, YOUT, ZOUT, TILT, MODE = 0, 1, 2, 3, 7
COUNTS_PER_G = 21.33  # MMA7660FC datasheet: 6-bit samples, +-1.5 g


class MMA7660(RegisterDevice):
    """Axis registers hold 6-bit two's complement samples; set them with
    `tilt_to` (counts) or `accelerate` (g).  Lying flat: z = +1 g."""

    def __init__(self) -> None:
        super().__init__(size=11)
        self.accelerate(0.0, 0.0, 1.0)

    def tilt_to(self, x: int, y: int, z: int) -> None:
        for reg, v in ((XOUT, x), (YOUT, y), (ZOUT, z)):
            if not -32 <= v <= 31:
                raise ValueError("an MMA7660 sample is 6 bits: -32..31")
            self.registers[reg] = v & 0x3F

    def accelerate(self, x: float, y: float, z: float) -> None:
        def counts(g: float) -> int:
            return max(-32, min(31, round(g * COUNTS_PER_G)))

        self.tilt_to(counts(x), counts(y), counts(z))

    def next_address(self, reg: int) -> int:
        return (reg + 1) % 11
