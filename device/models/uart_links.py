"""UART wiring beyond one board: a crossover cable between two boards' UARTs,
and a noisy line that drops or corrupts bytes (fault injection)."""
from __future__ import annotations

import random
from typing import Callable

from .base import UARTPeer


class _CableEnd(UARTPeer):
    def __init__(self) -> None:
        self.other: _CableEnd | None = None

    def receive(self, data: bytes) -> None:
        if self.other is not None:
            self.other.send(data)  # this board's TX is the other board's RX


def crossover() -> tuple[UARTPeer, UARTPeer]:
    """Two peers joined TX to RX: `a.uart(4).peer, b.uart(2).peer = crossover()`."""
    a, b = _CableEnd(), _CableEnd()
    a.other, b.other = b, a
    return a, b


class NoisyLine(UARTPeer):
    """Wraps a peer: each byte, in both directions, is dropped with
    probability `drop` or has one bit flipped with probability `corrupt`.
    Seeded, so a failing test fails the same way again."""

    def __init__(self, inner: UARTPeer, *, drop: float = 0.0, corrupt: float = 0.0,
                 seed: int = 0) -> None:
        if not (0 <= drop <= 1 and 0 <= corrupt <= 1):
            raise ValueError("drop and corrupt are probabilities in 0..1")
        self.inner = inner
        self.drop = drop
        self.corrupt = corrupt
        self._rng = random.Random(seed)
        self.dropped = 0
        self.corrupted = 0

    def attached(self, send: Callable[[bytes], None]) -> None:
        super().attached(send)
        self.inner.attached(lambda data: send(self._mangle(data)))

    def receive(self, data: bytes) -> None:
        self.inner.receive(self._mangle(data))

    def close(self) -> None:
        self.inner.close()

    def _mangle(self, data: bytes) -> bytes:
        out = bytearray()
        for byte in data:
            roll = self._rng.random()
            if roll < self.drop:
                self.dropped += 1
            elif roll < self.drop + self.corrupt:
                self.corrupted += 1
                out.append(byte ^ 1 << self._rng.randrange(8))
            else:
                out.append(byte)
        return bytes(out)
