"""A picture of a board's GC heap: `micropython.mem_info(1)` drawn as a PNG.

The block map's format is py/gc.c's (gc_dump_alloc_table), the same on a
real board and on vpyb: one line of 64 blocks per row, runs of free lines
collapsed into "(N lines all free)".  Each block is a square; an object's
tail blocks take its head's colour, so each object is one coloured run.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import png

BLOCKS_PER_LINE = 64
# What to run on the board; no name is left in the user's namespace.
MEM_INFO_CODE = "__import__('micropython').mem_info(1)"
# A block map's letters (py/gc.c) and their colours.
KINDS: dict[str, tuple[str, tuple[int, int, int]]] = {
    ".": ("free", (24, 24, 28)),
    "h": ("other object", (150, 150, 160)),
    "T": ("tuple", (230, 159, 0)),
    "L": ("list", (86, 180, 233)),
    "D": ("dict", (0, 158, 115)),
    "S": ("str or bytes", (240, 228, 66)),
    "A": ("bytearray or array", (0, 114, 178)),
    "F": ("float", (213, 94, 0)),
    "B": ("bytecode function", (204, 121, 167)),
    "M": ("module", (255, 255, 255)),
    "m": ("marked (mid-collection)", (255, 0, 0)),
}
GRID = (8, 8, 10)  # the gap between blocks
# The most rows a map may have: a 64 MiB heap of 16-byte blocks.  The map
# comes from the board, which could claim any number of free lines.
MAX_ROWS = (64 << 20) // (16 * BLOCKS_PER_LINE)

_INFO = re.compile(r"GC: total: (\d{1,12}), used: (\d{1,12}), free: (\d{1,12})")
_LINE = re.compile(r"^([0-9a-f]{8}): ([^\s]{0,%d})$" % BLOCKS_PER_LINE)
_FREE_LINES = re.compile(r"^\s+\((\d{1,12}) lines all free\)$")


@dataclass
class HeapMap:
    total: int
    used: int
    free: int
    rows: list[str]  # one string of block letters per line of the map

    @property
    def blocks(self) -> int:
        return sum(len(r) for r in self.rows)

    def count(self, letter: str) -> int:
        return sum(r.count(letter) for r in self.rows)


def parse(text: str) -> HeapMap:
    """The block map in the output of `micropython.mem_info(1)`; ValueError
    if there is none, or one larger than any board's heap."""
    info = _INFO.search(text)
    if info is None or "GC memory layout" not in text:
        raise ValueError("no micropython.mem_info(1) block map in the board's output")
    rows: list[str] = []
    for line in text[text.index("GC memory layout"):].splitlines()[1:]:
        line = line.rstrip("\r")
        if m := _LINE.match(line):
            rows.append(m.group(2))
        elif m := _FREE_LINES.match(line):
            free_lines = min(int(m.group(1)), MAX_ROWS + 1 - len(rows))
            rows.extend("." * BLOCKS_PER_LINE for _ in range(free_lines))
        elif line.strip():
            break
        if len(rows) > MAX_ROWS:
            raise ValueError(f"the board's block map is over {MAX_ROWS} lines, more than any heap")
    total, used, free = map(int, info.groups())
    return HeapMap(total, used, free, rows)


def render(heap: HeapMap, path: Path, scale: int = 6) -> None:
    """Writes the map as a PNG: `scale` pixels a block, a 1-pixel grid
    (a block is 16 bytes on a board, 32 on vpyb's 64-bit core).  Pixel rows
    are made as the PNG writer takes them: a big heap's picture is never
    held in memory whole."""
    if scale < 2:
        raise ValueError("scale must be at least 2 pixels a block")
    width = BLOCKS_PER_LINE * scale
    with open(path, "wb") as f:
        png.Writer(width, len(heap.rows) * scale, greyscale=False).write(f, _pixel_rows(heap, scale))


def _pixel_rows(heap: HeapMap, scale: int) -> Iterator[list[int]]:
    grid_line = list(GRID) * BLOCKS_PER_LINE * scale
    head = KINDS["h"][1]  # the colour a tail block takes: its object's
    for row in heap.rows:
        line: list[int] = []
        for letter in row:
            if letter != "=":
                head = KINDS.get(letter, KINDS["h"])[1]
            line.extend(head * (scale - 1))
            line.extend(GRID)
        line.extend(GRID * ((BLOCKS_PER_LINE - len(row)) * scale))
        for _ in range(scale - 1):
            yield line
        yield grid_line


def summary(heap: HeapMap, path: Path) -> str:
    """What a command prints after drawing the map."""
    objects = sum(heap.count(letter) for letter in KINDS if letter != ".")
    free_runs = [len(r) for r in re.split(r"[^.]+", "".join(heap.rows)) if r]
    return (f"{path}: {heap.total} B heap, {heap.used} B used, {heap.free} B free; "
            f"{objects} objects, {len(heap.rows)} rows of {BLOCKS_PER_LINE} blocks, "
            f"largest free run {max(free_runs, default=0)} blocks\n"
            + "  ".join(f"{letter} {name}" for letter, (name, _) in KINDS.items()) + "\n")
