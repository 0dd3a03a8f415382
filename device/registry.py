"""Running virtual boards, so `vpyb ports` (and other tools) can find them:
each board keeps a small JSON file in the user's runtime directory while it
runs.

The console trusts what it finds here (it opens the port, maps the register
file), so nothing here may come from another local user: the directories are
used only when they are this user's own, mode 0700, not symlinks; entries are
opened without following links and taken only from this user's files, for
this user's live processes."""
from __future__ import annotations

import functools
import json
import logging
import os
import stat
import tempfile
from pathlib import Path
from typing import NamedTuple

log = logging.getLogger(__name__)

ENTRY_MAX = 64 * 1024  # an entry is a few hundred bytes


class RunningBoard(NamedTuple):
    pid: int
    port: str
    state_dir: str
    regs: str | None = None  # path of its register file, mappable by this user
    urls: tuple[str, ...] = ()  # its network endpoints


@functools.lru_cache(maxsize=None)
def _warn_once(message: str) -> None:
    # The console and `vpyb ports` look at the registry several times a run.
    log.warning("vpyb: %s", message)


def _private_dir(path: Path) -> bool:
    """Makes `path` (mode 0700) or checks that it is this user's own private
    directory; False, with a warning, for anything another user could have
    made or could write into."""
    try:
        os.mkdir(path, 0o700)
    except FileExistsError:
        pass
    except OSError as e:
        _warn_once(f"no board registry at {path}: {e.strerror}")
        return False
    try:
        st = os.lstat(path)
    except OSError as e:
        _warn_once(f"no board registry at {path}: {e.strerror}")
        return False
    if stat.S_ISLNK(st.st_mode) or not stat.S_ISDIR(st.st_mode):
        problem = "a symlink" if stat.S_ISLNK(st.st_mode) else "not a directory"
    elif st.st_uid != os.getuid():
        problem = f"owned by uid {st.st_uid}, not by you"
    elif st.st_mode & 0o022:
        problem = f"writable by others (mode {stat.S_IMODE(st.st_mode):04o})"
    else:
        if st.st_mode & 0o077:  # made by an older vpyb with the umask's mode: ours, no one else wrote
            os.chmod(path, 0o700)
        return True
    _warn_once(f"ignoring the board registry {path}: it is {problem}")
    return False


def registry_dir() -> Path | None:
    """This user's board registry, or None if it can't be trusted."""
    # $XDG_RUNTIME_DIR where the session has one, else a per-user temp dir
    # (a name another user can take first: hence the checks).
    runtime = os.environ.get("VPYB_RUNTIME") or os.environ.get("XDG_RUNTIME_DIR")
    if runtime:
        root = Path(runtime)
        try:
            own = root.is_dir() and root.stat().st_uid == os.getuid()
        except OSError:
            own = False
        if not own:
            _warn_once(f"ignoring the runtime directory {root}: it is not a directory of yours")
            return None
        base = root / "vpyb"
    else:
        base = Path(tempfile.gettempdir()) / f"vpyb-{os.getuid()}"
    d = base / "boards"
    return d if _private_dir(base) and _private_dir(d) else None


def register(board: RunningBoard) -> Path | None:
    """Lists the board for other tools; None if there is no registry to trust."""
    d = registry_dir()
    if d is None:
        return None
    path = d / f"{board.pid}-{Path(board.port).name}.json"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
    with os.fdopen(fd, "w") as f:
        json.dump(board._asdict(), f)
    return path


def running_boards() -> list[RunningBoard]:
    d = registry_dir()
    if d is None:
        return []
    found = []
    for path in sorted(d.glob("*.json")):
        board = _read_entry(path)
        if board is None:
            continue
        if _own_live_process(board.pid):
            found.append(board)
        else:
            path.unlink(missing_ok=True)  # left behind by a killed board
    return found


def _read_entry(path: Path) -> RunningBoard | None:
    """An entry this user wrote: a regular file of ours (a link is not
    followed, a FIFO doesn't block) holding a well-formed record."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError:
        return None
    with os.fdopen(fd, "rb") as f:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode) or st.st_uid != os.getuid() or st.st_size > ENTRY_MAX:
            return None
        try:
            fields = json.loads(f.read(ENTRY_MAX))
            board = RunningBoard(**fields)
        except (OSError, ValueError, TypeError):
            return None
    urls = board.urls if isinstance(board.urls, (list, tuple)) else None
    if (type(board.pid) is not int or board.pid <= 0 or not isinstance(board.port, str)
            or not isinstance(board.state_dir, str) or not isinstance(board.regs, (str, type(None)))
            or urls is None or not all(isinstance(u, str) for u in urls)):
        return None
    return board._replace(urls=tuple(urls))


def _own_live_process(pid: int) -> bool:
    """The process runs and is this user's (a pid reused by another user's
    process, or an entry naming one, doesn't count)."""
    try:
        return os.stat(f"/proc/{pid}").st_uid == os.getuid()
    except OSError:
        return False
