"""Core processes are forked from a template, not started.

Starting a core process costs ~30 ms of CPU before MicroPython runs, and
twice that with the confinement libraries loaded.  Every soft reset now
needs a fresh core (supervisor.py), so one template process per core kind
loads all of it once (core_boot.py) and forks a standby per request, with
the fds the host made for it.  The template reaps its children and tells
the host their wait status, so a CoreProcess answers like a Popen would.
"""
from __future__ import annotations

import json
import os
import queue
import signal
import socket
import struct
import subprocess
import sys
import threading
from pathlib import Path

CORE_BOOT = Path(__file__).with_name("core_boot.py")
_RECORD = struct.Struct("<ii")  # pid, wait status (-1: just forked)


class CoreProcess:
    """A forked core, as much of subprocess.Popen as the host uses."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.returncode: int | None = None
        self._done = threading.Condition()

    def poll(self) -> int | None:
        return self.returncode

    def wait(self, timeout: float | None = None) -> int:
        with self._done:
            if not self._done.wait_for(lambda: self.returncode is not None, timeout):
                raise subprocess.TimeoutExpired(f"core {self.pid}", timeout)
        return self.returncode

    def send_signal(self, sig: int) -> None:
        if self.returncode is None:
            try:
                os.kill(self.pid, sig)
            except ProcessLookupError:
                pass

    def terminate(self) -> None:
        self.send_signal(signal.SIGTERM)

    def kill(self) -> None:
        self.send_signal(signal.SIGKILL)

    def exited(self, status: int) -> None:
        with self._done:
            self.returncode = os.waitstatus_to_exitcode(status)
            self._done.notify_all()


class Template:
    """One template process: `configure(request)` once, then `spawn(fds)`
    forks a standby holding those fds."""

    def __init__(self, core: str, libraries: str, env: dict[str, str]) -> None:
        """core: the wheel's site folder or another binary; libraries: where
        the confinement libraries are, or "unconfined".  It starts loading
        them at once."""
        self._control, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        self.proc = subprocess.Popen(
            [sys.executable, "-I", "-S", str(CORE_BOOT), str(theirs.fileno()), core, libraries],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, pass_fds=[theirs.fileno()],
            start_new_session=True, env=env)
        theirs.close()
        self._lock = threading.Lock()
        self._spawned: queue.Queue[int] = queue.Queue()
        self._cores: dict[int, CoreProcess] = {}
        self._early: dict[int, int] = {}  # statuses of cores that ended before being registered
        self._table = threading.Lock()
        threading.Thread(target=self._read, name="vpyb-template", daemon=True).start()

    def configure(self, request: dict) -> None:
        """What every board of its standbys shares (core.standby_request)."""
        try:
            self._control.send(json.dumps(request).encode())
        except OSError as e:
            raise OSError(f"the core template is gone: {e}") from None

    def spawn(self, fds: list[int]) -> CoreProcess:
        with self._lock:
            try:
                socket.send_fds(self._control, [b"s"], fds)
                pid = self._spawned.get(timeout=10)
            except (OSError, queue.Empty) as e:
                raise OSError(f"the core template did not fork: {e}") from None
            if pid < 0:
                self._spawned.put(pid)  # for any later spawn too
                raise OSError("the core template is gone")
            proc = CoreProcess(pid)
            with self._table:
                self._cores[pid] = proc
                status = self._early.pop(pid, None)
        if status is not None:
            proc.exited(status)
        return proc

    def close(self) -> None:
        # The template exits when it reads the end.  close() alone sends none
        # while the reader thread is blocked in recv on the socket: shut it down.
        try:
            self._control.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self._control.close()
        try:
            self.proc.wait(5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()

    def _read(self) -> None:
        while True:
            try:
                data = self._control.recv(_RECORD.size)
            except OSError:
                data = b""
            if len(data) != _RECORD.size:
                break
            pid, status = _RECORD.unpack(data)
            if status == -1:
                self._spawned.put(pid)
                continue
            with self._table:
                proc = self._cores.pop(pid, None)
                if proc is None:
                    self._early[pid] = status
            if proc is not None:
                proc.exited(status)
        # The template is gone: so are its children (PDEATHSIG); say so.
        self._spawned.put(-1)
        with self._table:
            cores, self._cores = list(self._cores.values()), {}
        for proc in cores:
            proc.exited(signal.SIGKILL)
