"""The wire: carries bytes between an endpoint and the core, answers the
core's side channel, and keeps a core running behind the endpoint (a core
that exits is a hard reset of the board; restarts.py paces one that keeps
exiting, and gives up on one that can't start).

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
import subprocess
import threading
import time
from typing import Callable

from .core import HARD_RESET_EXIT, Core, describe_exit
from .hardware import Hardware
from .restarts import Restarts
from .side_channel import PROMPT, ProtocolError, RequestReader

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
    def __init__(self, endpoint_fd: int, start_core: Callable[[], Core], hardware: Hardware,
                 on_prompt: Callable[[], None], on_fail: Callable[[str], None],
                 log: Callable[[str], None]) -> None:
        """on_fail(reason): the board's core can't be started, and the wire
        has stopped trying (until a hard reset)."""
        self._ep = endpoint_fd
        self._start_core = start_core
        self._hw = hardware
        self._on_prompt = on_prompt
        self._on_fail = on_fail
        self._log = log
        self._restarts = Restarts()
        self._wake_r, self._wake_w = os.pipe()
        self._to_core = b""
        self._to_ep = b""
        self._to_side = bytearray()
        self._ep_blocked_since = 0.0
        self._discarding = False  # nobody reads the endpoint: output is lost
        self._core_gone = False  # its pty hung up or its side channel closed
        self._stopping = False
        self._reset_wanted: str | None = None  # a hard reset asked for from outside
        self._reset_reason: str | None = None  # why the core was killed
        self._reset_asked = False  # ...and whether it was asked for (not a fault)
        self.core: Core | None = None  # the running core, or the last one
        self._last_out = b""  # what the core printed last
        self._live = False  # whether `core` runs
        self._started_at = 0.0
        self._next_start: float | None = None  # when the next core starts
        self._poll = self._new_poll()
        self._start_next()
        self._thread = threading.Thread(target=self._run, name="vpyb-wire", daemon=True)

    @property
    def failing(self) -> bool:
        """Whether the last core ended by itself before its prompt."""
        return self._restarts.failed_starts > 0

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stopping = True
        os.write(self._wake_w, b"x")
        self._thread.join(5)
        if self._live:
            self._hw.core_stopped()
            self.core.stop()
            self._live = False
        os.close(self._wake_r)
        os.close(self._wake_w)

    def hard_reset(self, reason: str = "hard reset") -> None:
        """Restart the core at once (the endpoint stays open); a board that
        gave up on its core tries again."""
        self._reset_wanted = reason
        if self._live:
            self.core.kill()  # here and now, wherever it is (a power cut)
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
        if self._live:
            for fd in (self.core.master, self._side_fd):
                p.register(fd, _IN)
                self._masks[fd] = _IN
        return p

    def _set_mask(self, fd: int, mask: int) -> None:
        if self._masks[fd] != mask:
            self._poll.modify(fd, mask)
            self._masks[fd] = mask

    def _step(self) -> None:
        core = self.core if self._live else None
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
        if self._next_start is not None:
            pause = max(0.0, self._next_start - time.monotonic())
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
            self._reset_now(core)
        # Whether the core exited is asked only once its fds said so (a
        # waitpid on every pass would slow every round trip).
        if self._core_gone:
            self._core_exited(self.core)
        if self._next_start is not None and time.monotonic() >= self._next_start:
            self._start_next()

    # --- the side channel ----------------------------------------------
    def _request(self, kind: int, payload: bytes) -> bytes | None:
        if kind == PROMPT:
            self._restarts.ready()
            self._on_prompt()
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
            self._kill(core, f"side channel: {e}; resetting the board")
            return
        if self._to_side:
            self._flush_side(core)
        if len(self._to_side) > REPLY_BACKLOG:
            self._kill(core, "side channel: the core sends requests and leaves their replies "
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
            if self._live:  # input while no core runs (a reset, a pause) is lost
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
            self._last_out = data
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

    # --- the core's life -------------------------------------------------
    def _kill(self, core: Core, reason: str, asked: bool = False) -> None:
        self._reset_reason = reason
        self._reset_asked = asked
        core.kill()
        self._core_gone = True

    def _reset_now(self, core: Core | None) -> None:
        reason, self._reset_wanted = self._reset_wanted, None
        if core is not None:
            self._kill(core, reason, asked=True)
        else:  # waiting out a pause, or given up: try again now
            self._log(reason)
            self._restarts.ready()
            self._next_start = time.monotonic()

    def _start_next(self) -> None:
        self._next_start = None
        try:
            core = self._start_core()
        except Exception as e:  # no core process at all (out of fds, a standby that died)
            self._after_exit("the core did not start", f": {e}", True, time.monotonic())
            return
        self.core = core
        self._live = True
        self._started_at = time.monotonic()
        self._last_out = b""
        core.side.setblocking(False)
        self._side_fd = core.side.fileno()
        self._hw.core_started(core.events)
        self._requests = RequestReader(self._request, self._hw.report)
        self._poll = self._new_poll()

    def _core_exited(self, core: Core) -> None:
        # Forward what the core printed last, then start the next one.
        try:
            core.proc.wait(1)  # it is exiting: its fds are closed
        except subprocess.TimeoutExpired:
            core.proc.kill()  # it closed them itself: a broken core
            core.proc.wait()
        try:
            while data := os.read(core.master, CHUNK):
                self._to_ep += data
                self._last_out = data
        except OSError:
            pass
        code = core.proc.returncode
        kind = self._reset_reason or describe_exit(code)
        # Exited by itself, neither crashed nor reset: it could not run, and
        # its last words (on stderr, else its output) say why.
        failed_start = self._reset_reason is None and 0 <= code != HARD_RESET_EXIT
        words = (_one_line(core.last_words()) or _one_line(self._last_out)) if failed_start else ""
        detail = f": {words}" if words else ""
        asked = self._reset_asked
        self._reset_reason = None
        self._reset_asked = False
        self._hw.core_stopped()
        core.stop()
        self._live = False
        self._core_gone = False
        self._to_core = b""
        self._to_side = bytearray()
        self._poll = self._new_poll()
        if self._to_ep:
            self._flush_to_ep()
        if asked:
            self._log(kind)
            self._next_start = time.monotonic()
        else:
            self._after_exit(kind, detail, failed_start, self._started_at)

    def _after_exit(self, kind: str, detail: str, failed_start: bool, started_at: float) -> None:
        r = self._restarts
        pause = r.exited(started_at, failed_start, kind)
        why = kind + detail
        if pause is None:
            why = f"the board's core cannot start ({r.failed_starts} tries): {why}"
            self._log(f"{why}; giving up")
            self._on_fail(why)
        elif r.worth_saying():
            self._log(why if r.exits == 1 else
                      f"{why} ({r.exits} times in a row without reaching a prompt; "
                      f"next try in {pause:g} s)")
        if pause is not None:
            self._next_start = time.monotonic() + pause


def _one_line(text: str | bytes, limit: int = 200) -> str:
    # The last line of what a core wrote, fit for the host's log: user code
    # may have written it, so nothing but printable ASCII gets through.
    if isinstance(text, bytes):
        text = text.decode("ascii", "replace")
    lines = text.strip().splitlines()
    line = lines[-1] if lines else ""
    return "".join(c if " " <= c <= "~" else "?" for c in line[:limit])
