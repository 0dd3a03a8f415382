"""The wire: carries bytes between an endpoint and the session's core and
answers the core's side channel; the supervisor (supervisor.py) decides
which core that is, and what follows when one ends.

One thread, one poll loop, Python touched once per chunk.  Output waits while
a client reads slowly and is dropped after CDC_TX_TIMEOUT when nobody reads,
as the board's USB CDC does (ports/stm32: MICROPY_HW_USB_CDC_TX_TIMEOUT).

The core is untrusted: user code can write frames of its own to the side
channel.  Nothing it sends can block this loop: replies go out through a
non-blocking socket from a bounded queue, and a core that makes the queue
overflow (requests whose replies it never reads) or breaks the framing is
reset, with one line saying why.
"""
from __future__ import annotations

import errno
import os
import select
import threading
import time
from typing import Callable

from .core import Core
from .hardware import Hardware
from .raw_runs import RawRuns
from .side_channel import PROMPT, SOFT_RESET, ProtocolError, RequestReader
from .supervisor import PWRON_RESET, RAW, Supervisor

CDC_TX_TIMEOUT = 0.5
CHUNK = 65536
SIDE_CHUNK = 16384  # request bytes handled per pass: the byte pump runs between
# Replies left unread beyond the socket's own buffer (~200 KB).  The firmware
# reads each reply before its next request, so only a core sending requests
# it never reads the answers to gets here.
REPLY_BACKLOG = 64 * 1024
_IN = select.POLLIN
_OUT = select.POLLOUT
_ERR = select.POLLERR | select.POLLHUP | select.POLLNVAL


class Wire:
    def __init__(self, endpoint_fd: int, make_core: Callable[[float, bool], Core], hardware: Hardware,
                 on_prompt: Callable[[], None], on_fail: Callable[[str], None],
                 log: Callable[[str], None],
                 trace: Callable[[bool, bytes], None] | None = None) -> None:
        """make_core, on_prompt, on_fail: the supervisor's (supervisor.py).
        trace(sent, data): every byte on the serial line, as it passes (sent:
        from the client, else printed by the board), on the wire's thread."""
        self._ep = endpoint_fd
        self._trace = trace
        self._hw = hardware
        self._log = log
        self.supervisor = Supervisor(make_core, on_prompt, on_fail, log)
        self._wake_r, self._wake_w = os.pipe()
        self._to_core = b""
        self._to_ep = b""
        self._to_side = bytearray()
        self._ep_blocked_since = 0.0
        self._discarding = False  # nobody reads the endpoint: output is lost
        self._core_gone = False  # its pty hung up or its side channel closed
        self._stopping = False
        self._reset_wanted: tuple[str, int] | None = None  # a hard reset asked for from outside
        self._last_out = b""  # what the core printed last
        self._live: Core | None = None  # the core whose fds are polled
        self._runs = RawRuns()  # the raw-REPL run the client waits on, if any
        self._poll = self._new_poll()
        self._start_due()
        self._thread = threading.Thread(target=self._run, name="vpyb-wire", daemon=True)

    @property
    def core(self) -> Core | None:
        """The session's core, or the last one."""
        return self.supervisor.last

    @property
    def failing(self) -> bool:
        return self.supervisor.failing

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stopping = True
        os.write(self._wake_w, b"x")
        self._thread.join(5)
        if self._live is not None:
            self._hw.core_stopped()
            self._live = None
        self.supervisor.stop()
        os.close(self._wake_r)
        os.close(self._wake_w)

    def hard_reset(self, reason: str = "hard reset", power_cut: bool = False) -> None:
        """Restart the core at once (the endpoint stays open); a board that
        gave up on its core tries again.  power_cut: it boots as at power-on."""
        self._reset_wanted = (reason, PWRON_RESET if power_cut else 2)
        live = self._live
        if live is not None:
            live.kill()  # here and now, wherever it is (a power cut)
        os.write(self._wake_w, b"x")

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
        p.register(self._ep, _IN)
        self._masks = {self._ep: _IN}
        if self._live is not None:
            for fd in (self._live.master, self._side_fd):
                p.register(fd, _IN)
                self._masks[fd] = _IN
        return p

    def _set_mask(self, fd: int, mask: int) -> None:
        if self._masks[fd] != mask:
            self._poll.modify(fd, mask)
            self._masks[fd] = mask

    def _step(self) -> None:
        core = self._live
        # Backpressure: read a side only while the other side has taken
        # everything already read from it.
        self._set_mask(self._ep, (_OUT if self._to_ep or self._discarding else 0)
                       | (0 if self._to_core else _IN))
        if core is not None:
            self._set_mask(core.master, (0 if self._to_ep else _IN) | (_OUT if self._to_core else 0))
            self._set_mask(self._side_fd, _IN | (_OUT if self._to_side else 0))
        timeout = CDC_TX_TIMEOUT if self._to_ep else None
        timer = self._hw.next_timer()
        if timer is not None and (timeout is None or timer < timeout):
            timeout = timer
        next_start = self.supervisor.next_due()
        if next_start is not None:
            pause = max(0.0, next_start - time.monotonic())
            if timeout is None or pause < timeout:
                timeout = pause
        for fd, ev in self._poll.poll(None if timeout is None else int(timeout * 1000 + 0.999)):
            if fd == self._wake_r:
                os.read(self._wake_r, 64)
            elif fd == self._ep:
                self._endpoint_event(ev)
            elif core is None:
                continue
            elif fd == self._side_fd:
                self._side_event(core, ev)
            elif fd == core.master:
                self._core_event(core, ev)
        if timer is not None:
            self._hw.tick_timers()
        if self._to_ep and time.monotonic() - self._ep_blocked_since > CDC_TX_TIMEOUT:
            self._to_ep = b""
            self._discarding = True
        if self._stopping:
            return
        if self._reset_wanted is not None:
            reason, cause = self._reset_wanted
            self._reset_wanted = None
            self.supervisor.hard_reset(reason, cause)
        # Whether the core exited is asked only once its fds said so (a
        # waitpid on every pass would slow every round trip).
        if self._core_gone and core is not None:
            self._core_exited(core)
        self._start_due()

    # --- the side channel ----------------------------------------------
    def _request(self, kind: int, payload: bytes) -> bytes | None:
        if kind == PROMPT:
            self.supervisor.prompt()
            return None
        if kind == SOFT_RESET:
            # Input for the ending session now goes to the next one.
            self.supervisor.soft_reset(payload[0], payload[1:])
            self._runs.reset(raw=payload[0] == RAW)
            return None
        return self._hw.handle(kind, payload)

    def _side_event(self, core: Core, ev: int) -> None:
        if ev & _OUT and self._to_side:
            self._flush_side(core)
        if not ev & (_IN | _ERR):
            return
        try:
            data = core.side.recv(SIDE_CHUNK)
        except BlockingIOError:
            return
        except OSError:
            self._core_gone = True
            return
        if not data:
            self._core_gone = True
            return
        try:
            self._to_side += self._requests.feed(data)
        except ProtocolError as e:
            self._end(core, f"side channel: {e}; resetting the board")
            return
        if self._to_side:
            self._flush_side(core)
        if len(self._to_side) > REPLY_BACKLOG:
            self._end(core, "side channel: the core sends requests and leaves their replies "
                            "unread; resetting the board")

    def _flush_side(self, core: Core) -> None:
        try:
            n = core.side.send(self._to_side)
        except BlockingIOError:
            return
        except OSError:
            self._core_gone = True
            return
        del self._to_side[:n]

    # --- the byte pump -------------------------------------------------
    def _endpoint_event(self, ev: int) -> None:
        if ev & _OUT:
            self._discarding = False  # a reader again
            if self._to_ep:
                self._flush_to_ep()
        if ev & _IN and not self._to_core:
            try:
                data = os.read(self._ep, CHUNK)
            except OSError as e:
                if e.errno not in (errno.EAGAIN, errno.EIO):
                    raise
                return
            if self._trace is not None:
                self._trace(True, data)
            data = self._runs.sent(data)
            if self._live is not None and data:  # input while no core runs (a pause, given up) is lost
                self._to_core = data
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
            self._printed(data)
            if self._discarding:
                return
            self._to_ep = data
            self._ep_blocked_since = time.monotonic()
            self._flush_to_ep()

    def _printed(self, data: bytes) -> None:
        self._runs.printed(data)
        self._last_out = data
        if self._trace is not None:
            self._trace(False, data)

    def _flush_to_ep(self) -> None:
        try:
            n = os.write(self._ep, self._to_ep)
        except BlockingIOError:
            return
        self._to_ep = self._to_ep[n:]
        self._ep_blocked_since = time.monotonic()

    def _flush_to_core(self) -> None:
        if self._core_gone or self.supervisor.soft_pending:
            return  # ending: what it hasn't taken goes to the next session
        try:
            n = os.write(self._live.master, self._to_core)
        except BlockingIOError:
            return
        except OSError as e:
            if e.errno != errno.EIO:
                raise
            n = len(self._to_core)  # the core is gone: input during a reset is lost
        self._to_core = self._to_core[n:]

    # --- the core's life (the supervisor's decisions) ------------------
    def _end(self, core: Core, reason: str) -> None:
        self.supervisor.end(core, reason)
        self._core_gone = True

    def _start_due(self) -> None:
        if not self.supervisor.start_due():
            return
        core = self.supervisor.core
        self._hw.core_started(core.events)
        self._attach(core)

    def _attach(self, core: Core) -> None:
        self._live = core
        self._last_out = b""
        core.side.setblocking(False)
        self._side_fd = core.side.fileno()
        self._requests = RequestReader(self._request, self._hw.report)
        self._poll = self._new_poll()

    def _core_exited(self, core: Core) -> None:
        # Forward what the core printed last, then whatever comes next.
        try:
            while data := os.read(core.master, CHUNK):
                self._printed(data)
                self._to_ep += data
        except OSError:
            pass
        soft = self.supervisor.soft_pending
        self._hw.core_stopped()
        self._live = None
        self._core_gone = False
        self._to_side = bytearray()
        if not soft:
            self._to_core = b""  # input during a reset is lost
        self._poll = self._new_poll()
        why = self.supervisor.exited(core, self._last_out)
        if why is not None:
            # A client waiting on a run would wait forever: its run ends
            # here, with why as the error, before the new core's banner.
            ending = self._runs.cut_short(why)
            if ending and self._trace is not None:
                self._trace(False, ending)
            self._to_ep += ending
        if self._to_ep:
            self._flush_to_ep()
        new = self.supervisor.core
        if new is not None:
            self._hw.core_started(new.events, power_on=not soft)
            self._attach(new)
            if self._to_core:
                self._flush_to_core()
