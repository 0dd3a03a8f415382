"""Warm standby cores: a board never waits for a process start.

Starting a core process costs ~15 ms before MicroPython runs at all (CPython,
ctypes, loading the core).  One standby per core binary is kept started and
waiting, so a new board or a hard reset only pays for the firmware's boot;
taking it starts the next one in the background.

Every core process is started from one long-lived thread: a core dies with
the thread that started it (PR_SET_PDEATHSIG), so it must not be a board's
wire thread, which ends with that board.
"""
from __future__ import annotations

import atexit
import threading

from .core import Core, CoreConfig


class _Standbys:
    def __init__(self) -> None:
        self._ready: dict[str | None, Core] = {}
        self._wanted: list[str | None] = []
        self._failed: dict[str | None, Exception] = {}  # why a core couldn't be started
        self._made = threading.Condition()
        self._thread: threading.Thread | None = None

    def prepare(self, binary: str | None = None) -> None:
        """Start a standby for `binary` (None: the wheel's core) unless one is waiting."""
        with self._made:
            if binary not in self._ready and binary not in self._wanted:
                self._failed.pop(binary, None)  # an earlier failure: try again
                self._wanted.append(binary)
                self._made.notify_all()
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="vpyb-standby",
                                                daemon=True)
                self._thread.start()
                atexit.register(self.close)

    def take(self, binary: str | None) -> Core:
        """A waiting core for `binary` (started now if none is ready); the
        next standby is started behind it."""
        self.prepare(binary)
        with self._made:
            while binary not in self._ready:
                if binary in self._failed:
                    raise self._failed.pop(binary)
                self._made.wait()
            core = self._ready.pop(binary)
        self.prepare(binary)
        if core.exited() is not None:  # died while waiting: take the next
            core.stop()
            return self.take(binary)
        return core

    def close(self) -> None:
        with self._made:
            cores = list(self._ready.values())
            self._ready.clear()
        for core in cores:
            core.stop()

    def _run(self) -> None:
        while True:
            with self._made:
                while not self._wanted:
                    self._made.wait()
                binary = self._wanted[0]
            try:
                core = Core(binary)
            except Exception as e:  # out of fds or processes: the taker raises it
                with self._made:
                    self._wanted.remove(binary)
                    self._failed[binary] = e
                    self._made.notify_all()
                continue
            with self._made:
                self._wanted.remove(binary)
                self._ready[binary] = core
                self._made.notify_all()


_standbys = _Standbys()
prepare = _standbys.prepare


def start_core(config: CoreConfig, regs_fd: int) -> Core:
    """A running core for this board: a standby, handed the board."""
    core = _standbys.take(config.binary)
    try:
        core.boot(config, regs_fd)
    except OSError:  # the standby died just now: the wire restarts it as any crash
        pass
    return core
