"""The supervisor: the life of a board's cores (DESIGN.md decision 10).

Every session runs in a core of its own.  A core boots the firmware to the
pristine point and waits there for its word to go (`Core.go`).  At power-on
or a hard reset the supervisor takes a core from the standbys and starts it
at once; meanwhile it keeps a spare booted ahead for this board, so a soft
reset only hands over: the old core, having synced /flash and said its REPL
mode and unread input (a SOFT_RESET notification), is ended, and the spare
goes on from there.  A core that dies is a hard reset; restarts.py paces one
that keeps dying and gives up on one that can't start.

It runs on the wire's thread: the wire moves bytes and asks it what to do
when a core ends.
"""
from __future__ import annotations

import subprocess
import threading
import time
from concurrent.futures import Future
from typing import Callable

from .core import FIRMWARE_FAULT_EXIT, HARD_RESET_EXIT, Core, describe_exit
from .restarts import Restarts

PWRON_RESET, HARD_RESET, SOFT_RESET = 1, 2, 0  # machine.reset_cause() values
SPARE_DELAY = 0.05  # seconds
# ...and once at the prompt, this long after it: the spare's handover and
# the standby forked behind it take a few ms of CPU, which would slow what
# the user does first (a fresh board's first exec: 7.3 ms, 9.8 at once).
SPARE_AFTER_PROMPT = 0.03  # seconds
FRIENDLY, RAW = 0, 1  # the REPL a session starts in


class Supervisor:
    def __init__(self, make_core: Callable[[float, bool], Core], on_prompt: Callable[[], None],
                 on_fail: Callable[[str], None], log: Callable[[str], None]) -> None:
        """make_core(power_on, spare): a core booted for this board, waiting
        to go; power_on is the board's power-on time (time.monotonic), from
        which its clocks count; a spare boots while a session runs.  on_fail(reason): the board's core can't be
        started, and the supervisor has stopped trying (until a hard reset)."""
        self._make_core = make_core
        self._on_prompt = on_prompt
        self._on_fail = on_fail
        self._log = log
        self._restarts = Restarts()
        self.core: Core | None = None  # the session's core while it runs
        self.last: Core | None = None  # the last core, running or not
        self._spare: Future[Core] | None = None
        self._power_on = time.monotonic()
        self._cause = PWRON_RESET
        self._soft: tuple[int, bytes] | None = None  # the ending session's mode and input
        self._reason: str | None = None  # why the core was ended
        self._asked = False  # ...and whether that was asked for (not a fault)
        self._started_at = 0.0
        self.next_start: float | None = time.monotonic()  # when the next core starts
        # When the spare for a soft reset is made: SPARE_AFTER_PROMPT after
        # the session is at its prompt, or SPARE_DELAY after it started, so
        # the two don't contend for the CPU while the session starts.
        self.spare_due: float | None = None

    @property
    def soft_pending(self) -> bool:
        """Whether the session's core is ending in a soft reset."""
        return self._soft is not None

    @property
    def failing(self) -> bool:
        """Whether the last core ended by itself before its prompt."""
        return self._restarts.failed_starts > 0

    # --- what the wire tells it --------------------------------------------
    def prompt(self) -> None:
        self._restarts.ready()
        self._on_prompt()
        if self._spare is None and self.core is not None:
            self.spare_due = time.monotonic() + SPARE_AFTER_PROMPT  # the session is up

    def soft_reset(self, mode: int, unread: bytes) -> None:
        """The session asked for a soft reset: its core is ended, the spare goes on."""
        if self.core is not None:
            self._soft = (mode, unread)
            self.end(self.core, "soft reset", asked=True)

    def end(self, core: Core, reason: str, asked: bool = False) -> None:
        """Ends the core at once (a reset, a fault found by the host)."""
        self._reason = reason
        self._asked = asked
        self.spare_due = None  # a spare is for the session's successor, made once that one runs
        core.kill()

    def hard_reset(self, reason: str, cause: int = HARD_RESET) -> None:
        """RST pressed (or the power cut, cause PWRON_RESET): a new core, a
        new power-on time; a board that gave up tries again."""
        self._cause = cause
        if self.core is not None:
            self.end(self.core, reason, asked=True)
        else:  # waiting out a pause, or given up: try again now
            self._log(reason)
            self._restarts.ready()
            self.next_start = time.monotonic()
        self._drop_spare()  # its clocks counted from the last power-on

    def next_due(self) -> float | None:
        """When start_due has something to do next (time.monotonic), if ever."""
        times = [t for t in (self.next_start, self.spare_due) if t is not None]
        return min(times) if times else None

    def start_due(self) -> bool:
        """Starts the next core, or the spare, if its time has come;
        whether a core for a new session started."""
        now = time.monotonic()
        if self.spare_due is not None and now >= self.spare_due:
            self.spare_due = None
            if self._spare is None and self.core is not None and self._reason is None:
                self._prepare_spare()
        if self.next_start is None or now < self.next_start:
            return False
        self.next_start = None
        self._power_on = time.monotonic()
        try:
            core = self._make_core(self._power_on, False)
        except Exception as e:  # no core process at all (out of fds, a standby that died)
            self._after_exit("the core did not start", f": {e}", True, time.monotonic())
            return False
        self._run(core, FRIENDLY, self._cause, b"")
        self._cause = HARD_RESET
        return True

    def exited(self, core: Core, last_output: bytes) -> str | None:
        """The core's pty hung up or its side channel closed: it is gone.
        Returns what ended the session, in words for a client whose run it
        cut short (None after a soft reset, which cuts no run short)."""
        if self._soft is not None:  # ended as asked: its parent is reaped later
            soft, self._soft, self._reason, self._asked = self._soft, None, None, False
            self.core = None
            self._take_spare(*soft)
            return None
        try:
            core.proc.wait(1)  # it is exiting: its fds are closed
        except subprocess.TimeoutExpired:
            core.proc.kill()  # it closed them itself: a broken core
            core.proc.wait()
        code = core.proc.returncode
        kind = self._reason or describe_exit(code)
        # Exited by itself, neither crashed nor reset: it could not run, and
        # its last words (on stderr, else its output) say why.
        failed_start = self._reason is None and 0 <= code != HARD_RESET_EXIT
        says_why = failed_start or code == FIRMWARE_FAULT_EXIT
        words = (_one_line(core.last_words()) or _one_line(last_output)) if says_why else ""
        detail = f": {words}" if words else ""
        asked = self._asked
        self._reason, self._asked = None, False
        self.core = None
        if asked:
            self._log(kind)
            self.next_start = time.monotonic()
            return kind
        self._after_exit(kind, detail, failed_start, self._started_at)
        # A core that died by itself is restarted: that is a hard reset too.
        return kind + detail + ("" if code in (HARD_RESET_EXIT, FIRMWARE_FAULT_EXIT) else ": hard reset")

    def stop(self) -> None:
        self._drop_spare(at_once=True)
        if self.last is not None:
            self.last.stop()

    # --- cores -----------------------------------------------------------
    def _run(self, core: Core, mode: int, cause: int, unread: bytes) -> None:
        try:
            core.go(mode, cause, unread)
        except OSError:  # it died waiting: its exit is seen as any other
            pass
        if self.last is not None and self.last is not core:
            _retire(self.last)
        self.core = self.last = core
        self._started_at = time.monotonic()
        self.spare_due = self._started_at + SPARE_DELAY

    def _take_spare(self, mode: int, unread: bytes) -> None:
        spare, self._spare = self._spare, None
        try:
            core = spare.result() if spare is not None else self._make_core(self._power_on, True)
        except Exception as e:
            self._after_exit("the core did not start", f": {e}", True, time.monotonic())
            return
        self._run(core, mode, SOFT_RESET, unread)

    def _prepare_spare(self) -> None:
        # Booted on another thread (taking a standby may wait for one), so the
        # wire never waits for it unless a soft reset comes first.
        future: Future[Core] = Future()
        self._spare = future
        power_on = self._power_on

        def boot() -> None:
            try:
                future.set_result(self._make_core(power_on, True))
            except Exception as e:
                future.set_exception(e)

        threading.Thread(target=boot, name="vpyb-spare", daemon=True).start()

    def _drop_spare(self, at_once: bool = False) -> None:
        spare, self._spare = self._spare, None
        if spare is None:
            return
        # A done future runs the callback here and now: unless the board is
        # stopping, the spare is stopped off the wire's thread, which must not
        # wait for a core's exit (a reset mid-run would reach its client later).
        stop = Core.stop if at_once else _retire
        spare.add_done_callback(lambda f: f.exception() is None and stop(f.result()))

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
            self.next_start = time.monotonic() + pause


def _retire(core: Core) -> None:
    # An ended core is reaped off the wire's thread (its parent reaps it first).
    threading.Thread(target=core.stop, name="vpyb-reaper", daemon=True).start()


def _one_line(text: str | bytes, limit: int = 200) -> str:
    # The last line of what a core wrote, fit for the host's log: user code
    # may have written it, so nothing but printable ASCII gets through.
    if isinstance(text, bytes):
        text = text.decode("ascii", "replace")
    lines = text.strip().splitlines()
    line = lines[-1] if lines else ""
    return "".join(c if " " <= c <= "~" else "?" for c in line[:limit])
