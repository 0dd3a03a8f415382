"""The flash image file behind /flash: 224 blocks of 512 bytes, the size of
the PYBv1.1 internal flash filesystem (pyboard-facts.md section 3).  The
firmware formats it on first boot, as the board does."""
from __future__ import annotations

from pathlib import Path

FLASH_BLOCKS = 224
FLASH_BYTES = FLASH_BLOCKS * 512


def ensure_image(path: Path, size: int = FLASH_BYTES) -> Path:
    """The board's flash image; a new one is blank (formatted on first boot)."""
    if size % 512 or size < 64 * 512:
        raise ValueError(f"flash size {size} is not a multiple of 512 bytes of at least 32 KiB")
    if path.exists() and path.stat().st_size not in (0, size):
        raise ValueError(f"{path} is a {path.stat().st_size}-byte flash image, not {size} bytes")
    if not path.exists() or path.stat().st_size == 0:
        path.write_bytes(bytes(size))
    return path
