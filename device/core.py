"""The interpreter core: one MicroPython process per board, on its own pty.

A core process starts as a standby (device/standby.py keeps one ready) and
becomes a board's core when `boot()` hands it the board.

The pty's line discipline does the board's output cooking (ONLCR) and, while
the firmware has armed it, turns the interrupt char into SIGINT (ISIG).
"""
from __future__ import annotations

import json
import os
import pty
import socket
import struct
import subprocess
import sys
from importlib.machinery import PathFinder
from pathlib import Path
from typing import NamedTuple

from .core_template import Template
from .core_tty import configure as configure_tty



def _module_dir(name: str) -> str:
    # The sys.path entry a module is found on, without loading it (the core
    # process does): a package's folder is one level deeper than a module.
    spec = PathFinder.find_spec(name)
    origin = Path(spec.origin)
    return str(origin.parent.parent if spec.submodule_search_locations else origin.parent)


WHEEL_DIR = _module_dir("micropython_run")
# What the core's kernel confinement is made with (core_confine.py).
CONFINE_LIBRARIES = os.pathsep.join(sorted({_module_dir("landlockpy"), _module_dir("pyseccomp")}))
CORE_ENV = {"TZ": "UTC", "MICROPYPATH": ""}


def new_template(binary: str | None, confined: bool) -> Template:
    """The template cores of this kind are forked from (the wheel's core
    unless `binary`; confined by the kernel unless told not); it waits to be
    configured (standby_request)."""
    return Template(binary or WHEEL_DIR, CONFINE_LIBRARIES if confined else "unconfined", CORE_ENV)
RAM_SIZE = 4096 + 64 * 1024  # VCP receive buffer + raw REPL source buffer
HARD_RESET_EXIT = 99  # fw_main.HARD_RESET_EXIT
FIRMWARE_FAULT_EXIT = 97  # fw_main.FIRMWARE_FAULT_EXIT
# The core's pool holds the firmware's objects below the user's heap.  The
# default core's firmware packs them into the bottom (fw_heap.py) and gives the
# user exactly `pool` bytes above: FIRMWARE_SPAN bounds how high its objects
# and the holes between them reach.  Another binary (--micropython) can't be
# packed: it gets the firmware's objects alone on top, FIRMWARE_OBJECTS, so
# that gc.mem_free() at a fresh prompt is still the board's.  Both measured by
# tests/test_memory.py and test_cli.py, which fail when the firmware outgrows them.
FIRMWARE_SPAN = 164 * 1024
FIRMWARE_OBJECTS = 148 * 1024


def pool_heapsize(pool: int, packed: bool = True) -> int:
    """-X heapsize= giving a GC pool of `pool` bytes plus the firmware's share.

    py/gc.c splits the area into alloc table, finaliser table and pool: on a
    64-bit core a pool of 128 bytes (4 blocks of 32) costs 1036/8 bytes of area.
    """
    pool = pool + (FIRMWARE_SPAN if packed else FIRMWARE_OBJECTS)
    return -(-pool // 128) * 1036 // 8 + 2


def core_arch(binary: str | None) -> str:
    """Native-code arch of the core (from its sys.implementation._mpy)."""
    import hashlib

    from .romfs import arch_of, cache_dir

    target = binary or WHEEL_DIR
    stamp = f"{target}\0{os.stat(target).st_mtime_ns}".encode()
    key = cache_dir() / ("arch-" + hashlib.sha256(stamp).hexdigest()[:16])
    if key.exists():
        return key.read_text()
    probe = "import sys;print(sys.implementation._mpy)"
    if binary:
        cmd = [binary, "-c", probe]
    else:
        cmd = [sys.executable, "-I", "-S", "-c",
               f"import sys;sys.path.insert(0,{WHEEL_DIR!r});import micropython_run as m;"
               f"m.run_main(['micropython','-c',{probe!r}])"]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    arch = arch_of(int(out.split()[-1]))
    key.write_text(arch)
    return arch


def standby_request(binary: str | None, rom_image: Path, heap: int) -> dict:
    """What every board of a standby shares (core_boot.py): the firmware
    image, the core's heap for a user's pool of `heap` bytes, the RAM."""
    return {"rom": str(rom_image), "heapsize": pool_heapsize(heap, packed=binary is None),
            "pool": heap, "ram": RAM_SIZE}


class CoreConfig(NamedTuple):
    flash_image: Path
    heap: int  # the user's GC pool in bytes
    fs_kind: str = "fat"
    binary: str | None = None  # another unix-port binary instead of the wheel
    power_on: float = 0.0  # the board's power-on (time.monotonic): its clocks count from it
    spare: bool = False  # booted ahead of a soft reset: it must not write /flash at boot
    frozen_image: Path | None = None  # the user's frozen modules, mounted at /rom
    confined: bool = True  # kernel confinement of the core (DESIGN.md decision 9)


class Core:
    """A core process: `master` carries the board's VCP bytes, `side` its
    requests to the peripheral models, `events` what they send it."""

    def __init__(self, template: Template) -> None:
        """A standby forked from `template` (core_template.py)."""
        self.confinement = ""  # the layers the core has, in the standby's words
        self.master, slave = pty.openpty()
        configure_tty(slave)
        self.side, core_side = socket.socketpair()
        ev_r, self.events = os.pipe()
        self._board, core_board = socket.socketpair()
        os.set_blocking(self.master, False)
        os.set_blocking(self.events, False)
        # The core's stderr is read by the host, never the host's terminal.
        self.stderr, err_w = os.pipe()
        os.set_blocking(self.stderr, False)
        os.set_blocking(err_w, False)  # a core that floods it loses its words, never blocks
        self._last_words = b""
        self._stopped = False
        try:
            self.proc = template.spawn([slave, err_w, core_side.fileno(), ev_r, core_board.fileno()])
        except OSError:  # no core: none of its fds stays open
            self._close_fds()
            raise
        finally:
            os.close(err_w)
            os.close(slave)
            core_side.close()
            os.close(ev_r)
            core_board.close()

    def wait_ready(self, timeout: float = 10.0) -> None:
        """Waits for the standby to be loaded (the wheel's core: booted up to
        the board's handover); it says how it is confined."""
        self._board.settimeout(timeout)
        try:
            line = self._board.recv(4096)
        except OSError as e:
            raise OSError(f"the core did not start: {e}") from None
        if not line:
            self.proc.wait(timeout)
            raise OSError(f"the core did not start: {self.last_words() or describe_exit(self.proc.returncode)}")
        self.confinement = line.decode(errors="replace")

    def last_words(self) -> str:
        """The last line the core wrote to its stderr (a traceback's last line)."""
        try:
            while data := os.read(self.stderr, 65536):
                self._last_words = (self._last_words + data)[-4096:]
        except OSError:
            pass
        lines = self._last_words.decode(errors="replace").strip().splitlines()
        return lines[-1] if lines else ""

    def boot(self, config: CoreConfig, regs_fd: int) -> None:
        """Hands the board to the waiting process, its register file and
        images as fds (a confined standby opens no path): it finishes the
        firmware's boot to the pristine point and waits for `go`."""
        record = {
            "flash": str(config.flash_image),
            "fs": config.fs_kind,
            "frozen": str(config.frozen_image) if config.frozen_image else None,
            "power_on": config.power_on,
            "spare": config.spare,
        }
        self._board.settimeout(None)
        fds = [os.open(config.flash_image, os.O_RDWR)]
        try:
            if config.frozen_image:
                fds.append(os.open(config.frozen_image, os.O_RDONLY))
            socket.send_fds(self._board, [json.dumps(record).encode()], [regs_fd, *fds])
        finally:
            for fd in fds:
                os.close(fd)

    def go(self, mode: int, cause: int, unread: bytes) -> None:
        """Starts the session: the REPL mode, machine.reset_cause(), the
        input the last session left unread (fw_main._wait_go)."""
        self._board.sendall(struct.pack("<BBH", mode, cause, len(unread)) + unread)

    def kill(self) -> None:
        """Ends the core at once.  A confined core's parent passes SIGTERM on
        as SIGKILL and reaps it (core_confine.py), so no zombie is left."""
        if self.proc.poll() is None:
            self.proc.terminate()

    def stop(self) -> None:
        if self._stopped:  # fds are closed once: their numbers may be another's now
            return
        self._stopped = True
        self.kill()
        try:
            self.proc.wait(1)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self._close_fds()

    def _close_fds(self) -> None:
        self._board.close()
        self.side.close()
        for fd in (self.master, self.events, self.stderr):
            try:
                os.close(fd)
            except OSError:
                pass

    def exited(self) -> int | None:
        return self.proc.poll()


def describe_exit(code: int) -> str:
    if code == HARD_RESET_EXIT:
        return "hard reset"
    if code == FIRMWARE_FAULT_EXIT:
        return "firmware fault, hard reset"
    if code < 0:
        import signal

        return f"core crashed ({signal.Signals(-code).name})"
    return f"core exited with status {code}"
