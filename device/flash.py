"""The flash image file behind /flash: 224 blocks of 512 bytes, the size of
the PYBv1.1 internal flash filesystem (pyboard-facts.md section 3).  The
firmware formats it on first boot, as the board does."""
from __future__ import annotations

from pathlib import Path

FLASH_BLOCKS = 224
FLASH_BYTES = FLASH_BLOCKS * 512


def ensure_image(path: Path) -> Path:
    if not path.exists() or path.stat().st_size != FLASH_BYTES:
        if path.exists() and path.stat().st_size > 0:
            raise ValueError(f"{path} is not a {FLASH_BYTES}-byte flash image")
        path.write_bytes(bytes(FLASH_BYTES))
    return path
