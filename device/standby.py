"""Warm standby cores: a board never waits for a process start.

A standby is forked from its template (core_template.py) and waits with
CPython, ctypes and the MicroPython core loaded, the wheel's core with the
firmware booted up to the board's handover (core_boot.py).  One standby per
kind (core binary, confined or not, heap) is kept waiting, so a new board, a
hard reset or a soft reset's spare only pays for the rest of the boot;
taking it forks the next one in the background.

Every template is started from one long-lived thread: a process dies with
the thread that started it (PR_SET_PDEATHSIG), so it must not be a board's
wire thread, which ends with that board.
"""
from __future__ import annotations

import atexit
import threading
import time

from typing import NamedTuple

from .core import Core, CoreConfig, core_arch, new_template, standby_request
from .core_template import Template
from .romfs import firmware_image
from .sizes import PYBV11_GC_POOL


class Kind(NamedTuple):
    """What a standby is made for."""

    binary: str | None = None  # another unix-port binary (None: the wheel's core)
    confined: bool = True
    heap: int = PYBV11_GC_POOL  # the user's GC pool


# The next standby is forked this long after one is taken (unless a board
# waits for it): its few ms of CPU would otherwise slow the taker's boot and
# first steps on a small machine.
REPLACE_DELAY = 0.02  # seconds


class _Standbys:
    def __init__(self) -> None:
        self._ready: dict[Kind, Core] = {}
        self._wanted: dict[Kind, float] = {}  # when each may be started (time.monotonic)
        self._failed: dict[Kind, Exception] = {}  # why a core couldn't be started
        self._made = threading.Condition()
        self._thread: threading.Thread | None = None
        self._starting: Core | None = None  # being started now
        self._templates: dict[Kind, Template] = {}
        self._closed = False

    def prepare(self, kind: Kind = Kind(), delay: float = 0.0) -> None:
        """Start a standby of this kind, `delay` seconds from now, unless one
        is waiting (or wanted sooner)."""
        due = time.monotonic() + delay
        with self._made:
            if kind not in self._ready and due < self._wanted.get(kind, float("inf")):
                if kind not in self._wanted:
                    self._failed.pop(kind, None)  # an earlier failure: try again
                self._wanted[kind] = due
                self._made.notify_all()
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="vpyb-standby",
                                                daemon=True)
                self._thread.start()
                atexit.register(self.close)

    def take(self, kind: Kind) -> Core:
        """A waiting core of this kind (started now if none is ready); the
        next standby is started behind it."""
        self.prepare(kind)
        with self._made:
            while kind not in self._ready:
                if kind in self._failed:
                    raise self._failed.pop(kind)
                self._made.wait()
            core = self._ready.pop(kind)
        self.prepare(kind, REPLACE_DELAY)
        if core.exited() is not None:  # died while waiting: take the next
            core.stop()
            return self.take(kind)
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

    @staticmethod
    def _new_template(kind: Kind) -> Template:
        # Started first: it loads its libraries while the firmware's image
        # is found (hashing its sources); kept only once configured.
        template = new_template(kind.binary, kind.confined)
        try:
            rom = firmware_image(core_arch(kind.binary))
            template.configure(standby_request(kind.binary, rom, kind.heap))
        except BaseException:
            template.close()
            raise
        return template

    def _run(self) -> None:
        while True:
            with self._made:
                while True:
                    kind = min(self._wanted, key=self._wanted.get, default=None)
                    wait = None if kind is None else self._wanted[kind] - time.monotonic()
                    if wait is not None and wait <= 0:
                        break
                    self._made.wait(wait)
            core = None
            try:
                with self._made:
                    if self._closed:
                        return
                    template = self._templates.get(kind)
                    if template is None or template.proc.poll() is not None:
                        template = self._templates[kind] = self._new_template(kind)
                    core = self._starting = Core(template)
                core.wait_ready()
            except Exception as e:  # out of fds or processes, a core that dies: the taker raises it
                if core is not None:
                    core.stop()
                with self._made:
                    self._starting = None
                    self._wanted.pop(kind, None)
                    self._failed[kind] = e
                    self._made.notify_all()
                continue
            with self._made:
                self._starting = None
                if self._closed:
                    break
                self._wanted.pop(kind, None)
                self._ready[kind] = core
                self._made.notify_all()
        core.stop()


_standbys = _Standbys()
prepare = _standbys.prepare


def start_core(config: CoreConfig, regs_fd: int) -> Core:
    """A running core for this board: a standby, handed the board."""
    core = _standbys.take(Kind(config.binary, config.confined, config.heap))
    try:
        core.boot(config, regs_fd)
    except (BrokenPipeError, ConnectionError):  # it died just now: the wire restarts it as any crash
        pass
    except OSError:  # the board's images can't be opened: a core that can't start
        core.stop()
        raise
    return core
