"""The wire: carries bytes between an endpoint and the core, and keeps a core
running behind the endpoint (a core that exits is a hard reset of the board).

One thread, one poll loop, Python touched once per chunk.  Output waits while
a client reads slowly and is dropped after CDC_TX_TIMEOUT when nobody reads,
as the board's USB CDC does (ports/stm32: MICROPY_HW_USB_CDC_TX_TIMEOUT).
"""
from __future__ import annotations

import errno
import os
import select
import subprocess
import threading
import time
from typing import Callable

from .core import Core, describe_exit
from .hardware import Hardware
from .side_channel import PROMPT, ProtocolError, RequestReader

CDC_TX_TIMEOUT = 0.5
CHUNK = 65536
_IN = select.POLLIN
_OUT = select.POLLOUT
_ERR = select.POLLERR | select.POLLHUP | select.POLLNVAL


class Wire:
    def __init__(self, endpoint_fd: int, start_core: Callable[[], Core], hardware: Hardware,
                 on_prompt: Callable[[], None], log: Callable[[str], None]) -> None:
        self._ep = endpoint_fd
        self._start_core = start_core
        self._hw = hardware
        self._on_prompt = on_prompt
        self._log = log
        self.core = self._boot()
        self._wake_r, self._wake_w = os.pipe()
        self._poll = self._new_poll()
        self._to_core = b""
        self._to_ep = b""
        self._ep_blocked_since = 0.0
        self._discarding = False  # nobody reads the endpoint: output is lost
        self._core_gone = False  # its pty hung up or its side channel closed
        self._stopping = False
        self._reset_reason: str | None = None
        self._thread = threading.Thread(target=self._run, name="vpyb-wire", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stopping = True
        os.write(self._wake_w, b"x")
        self._thread.join(5)
        self.core.stop()
        os.close(self._wake_r)
        os.close(self._wake_w)

    def hard_reset(self, reason: str = "hard reset") -> None:
        """Restart the core at once (the endpoint stays open)."""
        self._reset_reason = reason
        self.core.kill()

    # --- the loop ----------------------------------------------------
    def _run(self) -> None:
        try:
            while not self._stopping:
                self._step()
        except Exception as e:  # the board must never die silently
            self._log(f"wire stopped: {e!r}")
            raise

    def _new_poll(self) -> select.poll:
        p = select.poll()
        p.register(self._wake_r, _IN)
        p.register(self.core.side.fileno(), _IN)
        p.register(self._ep, _IN)
        p.register(self.core.master, _IN)
        self._masks = {self._ep: _IN, self.core.master: _IN}
        return p

    def _set_mask(self, fd: int, mask: int) -> None:
        if self._masks[fd] != mask:
            self._poll.modify(fd, mask)
            self._masks[fd] = mask

    def _step(self) -> None:
        core = self.core
        # Backpressure: read a side only while the other side has taken
        # everything already read from it.
        self._set_mask(self._ep, (_OUT if self._to_ep or self._discarding else 0)
                       | (0 if self._to_core else _IN))
        self._set_mask(core.master, (0 if self._to_ep else _IN) | (_OUT if self._to_core else 0))
        timeout = CDC_TX_TIMEOUT if self._to_ep else None
        timer = self._hw.next_timer()
        if timer is not None and (timeout is None or timer < timeout):
            timeout = timer
        for fd, ev in self._poll.poll(None if timeout is None else int(timeout * 1000 + 0.999)):
            if fd == self._wake_r:
                os.read(self._wake_r, 64)
            elif fd == core.side.fileno():
                self._side(core)
            elif fd == self._ep:
                self._endpoint_event(ev)
            elif fd == core.master:
                self._core_event(core, ev)
        if timer is not None:
            self._hw.tick_timers()
        if self._to_ep and time.monotonic() - self._ep_blocked_since > CDC_TX_TIMEOUT:
            self._to_ep = b""
            self._discarding = True
        # Whether the core exited is asked only once its fds said so (a
        # waitpid on every pass would slow every round trip).
        if self._core_gone and not self._stopping:
            self._restart(core)

    def _boot(self) -> Core:
        core = self._start_core()
        self._hw.core_started(core.events)
        self._requests = RequestReader(self._request)
        return core

    def _request(self, kind: int, payload: bytes) -> bytes | None:
        if kind == PROMPT:
            self._on_prompt()
            return None
        return self._hw.handle(kind, payload)

    def _side(self, core: Core) -> None:
        try:
            data = core.side.recv(65536)
            if not data:
                self._core_gone = True
                return
            for reply in self._requests.feed(data):
                core.side.sendall(reply)
        except ProtocolError as e:
            self._log(f"side channel: {e}; resetting the board")
            core.kill()
        except OSError:
            self._core_gone = True

    def _endpoint_event(self, ev: int) -> None:
        if ev & _OUT:
            self._discarding = False  # a reader again
            if self._to_ep:
                self._flush_to_ep()
        if ev & _IN and not self._to_core:
            try:
                self._to_core = os.read(self._ep, CHUNK)
            except OSError as e:
                if e.errno not in (errno.EAGAIN, errno.EIO):
                    raise
            self._flush_to_core()

    def _core_event(self, core: Core, ev: int) -> None:
        if ev & _ERR:
            self._core_gone = True  # the core's end of its pty closed: it exited
        if ev & _OUT and self._to_core:
            self._flush_to_core()
        if ev & (_IN | _ERR) and not self._to_ep:
            try:
                data = os.read(core.master, CHUNK)
            except OSError as e:
                if e.errno not in (errno.EAGAIN, errno.EIO):
                    raise
                self._core_gone = e.errno == errno.EIO
                return
            if self._discarding:
                return
            self._to_ep = data
            self._ep_blocked_since = time.monotonic()
            self._flush_to_ep()

    def _flush_to_ep(self) -> None:
        try:
            n = os.write(self._ep, self._to_ep)
        except BlockingIOError:
            return
        self._to_ep = self._to_ep[n:]
        self._ep_blocked_since = time.monotonic()

    def _flush_to_core(self) -> None:
        try:
            n = os.write(self.core.master, self._to_core)
        except BlockingIOError:
            return
        except OSError as e:
            if e.errno != errno.EIO:
                raise
            n = len(self._to_core)  # the core is gone: input during a reset is lost
        self._to_core = self._to_core[n:]

    def _restart(self, core: Core) -> None:
        # Forward what the core printed last, then boot a new one.
        try:
            core.proc.wait(1)  # it is exiting: its fds are closed
        except subprocess.TimeoutExpired:
            core.kill()  # it closed them itself: a broken core
        try:
            while data := os.read(core.master, CHUNK):
                self._to_ep += data
        except OSError:
            pass
        self._log(self._reset_reason or describe_exit(core.proc.returncode))
        self._reset_reason = None
        core.stop()
        self._to_core = b""
        self._core_gone = False
        self.core = self._boot()
        self._poll = self._new_poll()
        if self._to_ep:
            self._flush_to_ep()
