"""Sizes a user gives a board (`--heap 256k`, `VirtualBoard(flash_size=...)`):
read from text as people write them, and checked against what a board can
run with, so the CLI, the Python API and the pytest plugin refuse the same
sizes in the same words.  Imports nothing: the CLI loads it before a board."""
from __future__ import annotations

PYBV11_GC_POOL = 103168  # "GC: total" of a real PYBv1.1 (pyboard-facts.md section 2)
# Below 16k the firmware's REPL leaves the user almost nothing (a 4k heap
# boots, then fails the raw REPL's first exec; 0 never boots).  64M is more
# than any MicroPython board has, and the core maps all of it.
HEAP_MIN = 16 << 10
HEAP_MAX = 64 << 20
# /flash is 512-byte blocks (FAT sectors, littlefs blocks).  32k is the
# least that FAT and littlefs both format and boot with the factory files;
# 16M is the largest flash MicroPython boards carry.
FLASH_BLOCK = 512
FLASH_MIN = 32 << 10
FLASH_MAX = 16 << 20

_UNITS = {"": 1, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30}


def parse_size(text: str) -> int:
    """Bytes from '103168', '64k', '1.5M', '1G' or '256KiB' (units of 1024,
    any case); ValueError for anything else or a fraction of a byte."""
    t = text.strip().lower().removesuffix("b").removesuffix("i")
    unit = t[-1:] if t[-1:] in _UNITS else ""
    number = t[: len(t) - len(unit)].strip()
    sign = -1 if number.startswith("-") else 1
    whole, _, frac = (number[1:] if number[:1] in ("-", "+") else number).partition(".")
    if not (whole + frac).isdigit() or not (whole + frac).isascii() or len(whole + frac) > 30:
        raise ValueError(f"invalid size {text!r}: give bytes, or a number with k, M or G (e.g. 256k)")
    scaled = int(whole or "0") * _UNITS[unit] * 10 ** len(frac) + int(frac or "0") * _UNITS[unit]
    if scaled % 10 ** len(frac):
        raise ValueError(f"invalid size {text!r}: not a whole number of bytes")
    return sign * scaled // 10 ** len(frac)


def format_size(n: int) -> str:
    """A size as parse_size reads it, in the largest unit that is exact."""
    for unit in ("G", "M", "k"):
        if n > 0 and n % _UNITS[unit.lower()] == 0:
            return f"{n // _UNITS[unit.lower()]}{unit}"
    return f"{n} bytes"


def check_heap(size: object) -> int:
    """The user's GC heap in bytes, if a board can have it (else ValueError)."""
    return _check("heap", size, HEAP_MIN, HEAP_MAX)


def check_flash(size: object) -> int:
    """A new flash image's size in bytes, if a board can have it (else ValueError)."""
    size = _check("flash", size, FLASH_MIN, FLASH_MAX)
    if size % FLASH_BLOCK:
        raise ValueError(f"flash {format_size(size)} is not a whole number of {FLASH_BLOCK}-byte blocks")
    return size


def _check(what: str, size: object, low: int, high: int) -> int:
    if type(size) is not int:
        raise ValueError(f"{what} size must be a number of bytes (an int), not {size!r}")
    if size < low:
        raise ValueError(f"{what} {format_size(size)} is too small: the least is {format_size(low)}")
    if size > high:
        raise ValueError(f"{what} {format_size(size)} is too big: the most is {format_size(high)}")
    return size
