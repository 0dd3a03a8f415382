"""Warm standby cores: a board never waits for a process start.

A standby is forked from its kind's template (core_template.py) and waits
with CPython, ctypes and the MicroPython core loaded.  One standby per kind
(core binary, confined or not) is kept waiting, so a new board, a hard
reset or a soft reset's spare only pays for the firmware's boot; taking it
forks the next one in the background.

Every template is started from one long-lived thread: a process dies with
the thread that started it (PR_SET_PDEATHSIG), so it must not be a board's
wire thread, which ends with that board.
"""
from __future__ import annotations

import atexit
import threading

from .core import Core, CoreConfig, new_template
from .core_template import Template


# A standby is made for a core binary (None: the wheel's) and confined or not.
Kind = tuple[str | None, bool]


class _Standbys:
    def __init__(self) -> None:
        self._ready: dict[Kind, Core] = {}
        self._wanted: list[Kind] = []
        self._failed: dict[Kind, Exception] = {}  # why a core couldn't be started
        self._made = threading.Condition()
        self._thread: threading.Thread | None = None
        self._starting: Core | None = None  # being started now
        self._templates: dict[Kind, Template] = {}
        self._closed = False

    def prepare(self, binary: str | None = None, confined: bool = True) -> None:
        """Start a standby for `binary` (None: the wheel's core) unless one is waiting."""
        kind = (binary, confined)
        with self._made:
            if kind not in self._ready and kind not in self._wanted:
                self._failed.pop(kind, None)  # an earlier failure: try again
                self._wanted.append(kind)
                self._made.notify_all()
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="vpyb-standby",
                                                daemon=True)
                self._thread.start()
                atexit.register(self.close)

    def take(self, binary: str | None, confined: bool = True) -> Core:
        """A waiting core for `binary` (started now if none is ready); the
        next standby is started behind it."""
        kind = (binary, confined)
        self.prepare(*kind)
        with self._made:
            while kind not in self._ready:
                if kind in self._failed:
                    raise self._failed.pop(kind)
                self._made.wait()
            core = self._ready.pop(kind)
        self.prepare(*kind)
        if core.exited() is not None:  # died while waiting: take the next
            core.stop()
            return self.take(*kind)
        return core

    def close(self) -> None:
        # Every process this made ends here, so none is left to the system's init.
        with self._made:
            self._closed = True
            cores = list(self._ready.values())
            self._ready.clear()
            if self._starting is not None:
                cores.append(self._starting)
            templates = list(self._templates.values())
            self._templates.clear()
        for core in cores:
            core.stop()
        for template in templates:  # after their cores: a template reaps them
            template.close()

    def _run(self) -> None:
        while True:
            with self._made:
                while not self._wanted:
                    self._made.wait()
                kind = self._wanted[0]
            core = None
            try:
                with self._made:
                    if self._closed:
                        return
                    template = self._templates.get(kind)
                    if template is None or template.proc.poll() is not None:
                        template = self._templates[kind] = new_template(*kind)
                    core = self._starting = Core(template)
                core.wait_ready()
            except Exception as e:  # out of fds or processes, a core that dies: the taker raises it
                if core is not None:
                    core.stop()
                with self._made:
                    self._starting = None
                    self._wanted.remove(kind)
                    self._failed[kind] = e
                    self._made.notify_all()
                continue
            with self._made:
                self._starting = None
                if self._closed:
                    break
                self._wanted.remove(kind)
                self._ready[kind] = core
                self._made.notify_all()
        core.stop()


_standbys = _Standbys()
prepare = _standbys.prepare


def start_core(config: CoreConfig, regs_fd: int) -> Core:
    """A running core for this board: a standby, handed the board."""
    core = _standbys.take(config.binary, config.confined)
    try:
        core.boot(config, regs_fd)
    except OSError:  # the standby died just now: the wire restarts it as any crash
        pass
    return core
