"""VirtualBoard: one virtual Pyboard v1.1 — the object the CLI, console and
pytest plugin are thin layers on."""
from __future__ import annotations

import hashlib
import os
import shutil
import sys
import tempfile
import threading
from pathlib import Path
from typing import TYPE_CHECKING

from platformdirs import user_state_dir

from . import romfs
from .core import Core, CoreConfig, core_arch
from .endpoint_pty import PtyEndpoint
from .flash import FLASH_BYTES, FlashInUse, claim_image
from .hardware import Hardware, I2CBus, Led, Pin, SPIBus, UARTPort
from .models.mma7660 import MMA7660
from .registry import RunningBoard, register
from .sizes import PYBV11_GC_POOL, check_flash, check_heap
from .standby import start_core
from .wire import Wire

if TYPE_CHECKING:
    from .endpoint_net import NetEndpoint

# A core that fails to start is retried for at most this long (restarts.py).
CORE_RETRIES_WITHIN = 10.0


def default_state_dir() -> Path:
    return Path(user_state_dir("vpyb")) / "board"


class BoardError(RuntimeError):
    pass


class VirtualBoard:
    """A virtual Pyboard.  `start()` boots it; `port` is what host tools open."""

    def __init__(self, state_dir: str | Path | None = None, *, ephemeral: bool = False,
                 heap: int = PYBV11_GC_POOL, fs: str = "fat", flash_size: int = FLASH_BYTES,
                 micropython: str | None = None, link: str | None = None,
                 tcp: int | None = None, rfc2217: int | None = None, listen: str = "127.0.0.1",
                 reset_on: str | None = None, freeze: str | Path | None = None,
                 confine: bool = True, log=None, on_fail=None, serial_trace=None) -> None:
        """tcp / rfc2217: serve the port on these TCP ports too (0: any free
        one); listen: their address; reset_on: 'dtr' or 'rts' asserted over
        RFC 2217 hard-resets the board; freeze: a folder of modules (or a
        `vpyb freeze` image) mounted read-only at /rom as frozen bytecode;
        confine=False runs the core without kernel confinement (trusted code only);
        on_fail(reason): called when the board's core can't be started any more;
        serial_trace(sent, data): sees every byte on the board's serial line
        (sent: from a client, else printed by the board), from the wire's thread."""
        if fs not in ("fat", "littlefs"):
            raise ValueError(f"unknown filesystem {fs!r}: use 'fat' or 'littlefs'")
        self.heap = check_heap(heap)
        self.flash_size = check_flash(flash_size)
        self._tmp = tempfile.mkdtemp(prefix="vpyb-") if ephemeral else None
        self.state_dir = Path(self._tmp or state_dir or default_state_dir())
        self.fs = fs
        self.micropython = micropython
        self.link = link
        self._net_wanted = [(proto, p) for proto, p in (("socket", tcp), ("rfc2217", rfc2217))
                            if p is not None]
        self.listen = listen
        self.freeze = Path(freeze) if freeze else None
        self.reset_on = reset_on
        self.confine = confine
        self._net: list[NetEndpoint] = []
        self._log = log or (lambda msg: print(f"vpyb: {msg}", file=sys.stderr))
        self._prompt = threading.Event()
        self.failure: str | None = None  # why the board's core can't be started
        self._on_fail = on_fail
        self._serial_trace = serial_trace
        self._endpoint: PtyEndpoint | None = None
        self._wire: Wire | None = None
        self._entry: Path | None = None
        self._flash_lock: int | None = None  # fd holding flash.img's lock while the board runs
        # The hardware exists before power-on, so models can be wired first.
        uid = hashlib.sha256(str(self.state_dir.resolve()).encode()).digest()[:12]
        self.hardware = Hardware(uid, self._log)

    # --- life cycle --------------------------------------------------
    def start(self, timeout: float = 2.0) -> "VirtualBoard":
        self.state_dir.mkdir(parents=True, exist_ok=True)
        self.flash_image = self.state_dir / "flash.img"
        try:
            self._flash_lock = claim_image(self.flash_image, self.flash_size)
        except FlashInUse as e:
            raise BoardError(f"{e}: give this board another state directory") from None
        arch = core_arch(self.micropython)  # a binary that is no MicroPython core fails here
        self._frozen = romfs.frozen_image(self.freeze, arch) if self.freeze else None
        self._endpoint = PtyEndpoint(self.link)
        self._wire = Wire(self._endpoint.master, self._new_core, self.hardware, self._prompt.set,
                          self._failed, self._log, self._serial_trace)
        self._wire.start()
        if self._net_wanted:
            from .endpoint_net import NetEndpoint  # pyserial's RFC 2217 server: only when asked
        for proto, p in self._net_wanted:
            self._net.append(NetEndpoint(self.port, p, protocol=proto, host=self.listen,
                                         reset_on=self.reset_on, reset=self.hard_reset,
                                         log=self._log))
        self._entry = register(RunningBoard(os.getpid(), self.port, str(self.state_dir),
                                            self.hardware.regs.path, self.urls))
        if not self._prompt.wait(timeout) and self._wire.failing:
            self._prompt.wait(CORE_RETRIES_WITHIN)  # a prompt or a failure comes by then
        if self.failure:
            self.stop()
            raise BoardError(self.failure)
        # Without a prompt by now, main.py is busy: the board is up and its
        # port takes input (Ctrl-C reaches main.py), as a real board's does.
        return self

    def _failed(self, reason: str) -> None:
        self.failure = reason
        self._prompt.set()  # no prompt will come: the waiters hear why
        if self._on_fail:
            self._on_fail(reason)

    def _new_core(self, power_on: float, spare: bool) -> Core:
        # A core booted for this board, waiting for the supervisor's go.
        config = CoreConfig(self.flash_image, self.heap, self.fs,
                            self.micropython, power_on, spare, self._frozen, self.confine)
        return start_core(config, self.hardware.regs.fd)

    def stop(self) -> None:
        if self._entry:
            self._entry.unlink(missing_ok=True)
            self._entry = None
        for net in self._net:
            net.close()
        self._net = []
        if self._wire:
            self._wire.stop()
            self._wire = None
        if self._endpoint:
            self._endpoint.close()
            self._endpoint = None
        self.hardware.close()
        if self._flash_lock is not None:  # the core is gone: the image is free
            os.close(self._flash_lock)
            self._flash_lock = None
        if self._tmp:
            shutil.rmtree(self._tmp, ignore_errors=True)

    def __enter__(self) -> "VirtualBoard":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    # --- what users see ----------------------------------------------
    @property
    def port(self) -> str:
        if not self._endpoint:
            raise BoardError("the board is not running")
        return self._endpoint.port

    @property
    def urls(self) -> list[str]:
        """The network endpoints' pyserial URLs (socket://..., rfc2217://...)."""
        return [net.url for net in self._net]

    @property
    def confinement(self) -> str:
        """The kernel layers confining the core, in one line; "" while no
        core has started (start() returns without a prompt while a core that
        fails to start is retried)."""
        core = self._wire.core if self._wire else None
        return core.confinement if core else ""

    @property
    def core_pid(self) -> int:
        return self._wire.core.proc.pid

    def hard_reset(self) -> None:
        """Like pressing RST: the core restarts, the port stays open (a board
        whose core could not be started tries again)."""
        self.failure = None
        self._prompt.clear()
        self._wire.hard_reset()

    def power_cut(self) -> None:
        """Power lost and back (or a brown-out): the core is killed wherever
        it is, e.g. mid-write to /flash, and boots with PWRON_RESET.  What
        the filesystem had written to the flash is kept, nothing more."""
        self._prompt.clear()
        self._wire.hard_reset("power cut", power_cut=True)

    def wait_prompt(self, timeout: float = 10.0) -> bool:
        return self._prompt.wait(timeout) and not self.failure

    # --- the hardware, from outside --------------------------------------
    def i2c(self, bus: int | str | None = None, *, scl: str | None = None,
            sda: str | None = None) -> I2CBus:
        """An I2C bus: `i2c(1)`, `i2c('Y')`, or a SoftI2C's `i2c(scl='X1', sda='X2')`."""
        return self.hardware.i2c(bus, scl=scl, sda=sda)

    def spi(self, bus: int | str | None = None, *, sck: str | None = None) -> SPIBus:
        return self.hardware.spi(bus, sck=sck)

    def uart(self, unit: int | str) -> UARTPort:
        return self.hardware.uart(unit)

    def pin(self, name: str) -> Pin:
        return Pin(self.hardware, name)

    def led(self, n: int) -> Led:
        if n not in (1, 2, 3, 4):
            raise ValueError(f"LED({n}) doesn't exist")
        return Led(self.hardware, n)

    def jumper(self, a: str, b: str) -> None:
        self.hardware.jumper(a, b)

    def set_adc(self, pin_or_channel: str | int, value: int) -> None:
        """The 12-bit reading (0..4095) an ADC channel gives."""
        self.hardware.set_adc(pin_or_channel, value)

    def press_switch(self) -> None:
        self.pin("SW").drive(0)

    def release_switch(self) -> None:
        self.pin("SW").release()

    @property
    def accel(self) -> MMA7660:
        return self.hardware.accel
