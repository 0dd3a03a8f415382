"""Running virtual boards, so `vpyb ports` (and other tools) can find them:
each board keeps a small JSON file in the user's runtime directory while it
runs."""
from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import NamedTuple


class RunningBoard(NamedTuple):
    pid: int
    port: str
    state_dir: str
    regs: str | None = None  # path of its register file, mappable by this user
    urls: tuple[str, ...] = ()  # its network endpoints


def registry_dir() -> Path:
    # $XDG_RUNTIME_DIR where the session has one, else a per-user temp dir.
    runtime = os.environ.get("VPYB_RUNTIME") or os.environ.get("XDG_RUNTIME_DIR")
    base = Path(runtime) / "vpyb" if runtime else Path(tempfile.gettempdir()) / f"vpyb-{os.getuid()}"
    d = base / "boards"
    d.mkdir(parents=True, exist_ok=True)
    return d


def register(board: RunningBoard) -> Path:
    path = registry_dir() / f"{board.pid}-{Path(board.port).name}.json"
    path.write_text(json.dumps(board._asdict()))
    return path


def running_boards() -> list[RunningBoard]:
    found = []
    for path in sorted(registry_dir().glob("*.json")):
        try:
            board = RunningBoard(**json.loads(path.read_text()))
        except (OSError, ValueError, TypeError):
            continue
        if _alive(board.pid):
            found.append(board)
        else:
            path.unlink(missing_ok=True)  # left behind by a killed board
    return found


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
