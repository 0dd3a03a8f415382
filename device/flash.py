"""The flash image file behind /flash: 224 blocks of 512 bytes, the size of
the PYBv1.1 internal flash filesystem (pyboard-facts.md section 3).  The
firmware formats it on first boot, as the board does."""
from __future__ import annotations

import fcntl
import os
from pathlib import Path

FLASH_BLOCKS = 224
FLASH_BYTES = FLASH_BLOCKS * 512


class FlashInUse(RuntimeError):
    """Another board has this flash image."""


def claim_image(path: Path, size: int = FLASH_BYTES) -> int:
    """Opens the board's flash image (a new one blank) and locks it for the
    board's life: the returned fd holds the lock until it is closed, or until
    this process dies.  Two boards on one image would each write the
    filesystem from their own idea of it and lose files."""
    # Not inheritable: a core must not keep the lock past its host.
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o666)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = _lock_holder(fd)
            raise FlashInUse(f"{path} is in use by another board"
                             + (f" (pid {holder})" if holder else "")) from None
        have = os.fstat(fd).st_size
        if have == 0:
            os.posix_fallocate(fd, 0, size)  # zeros on disk now, not a SIGBUS in the core later
        elif have != size:
            raise ValueError(f"{path} is a {have}-byte flash image, not {size} bytes")
    except BaseException:
        os.close(fd)
        raise
    return fd


def _lock_holder(fd: int) -> int | None:
    """The pid holding a flock on this file, from /proc/locks (Linux)."""
    st = os.fstat(fd)
    key = f"{os.major(st.st_dev):02x}:{os.minor(st.st_dev):02x}:{st.st_ino}"
    try:
        lines = Path("/proc/locks").read_text().splitlines()
    except OSError:
        return None
    for line in lines:
        # "1: FLOCK  ADVISORY  WRITE 4242 08:01:1234 0 EOF"; waiters have "->".
        fields = line.split()
        if len(fields) >= 6 and fields[1] == "FLOCK" and fields[5] == key and fields[4].isdigit():
            return int(fields[4])
    return None
