"""Boards for the tests, started the way users start them: `vpyb run` as a
process, talked to through its real pty."""
from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import serial

from vpyb.device.board import VirtualBoard
from vpyb.protocol.raw_repl import RawRepl

pytest_plugins = ["pytester"]

READY = re.compile(rb"vpyb: PYBv1.1 ready on (\S+)")


def process_name(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/comm").read_text().strip()
    except OSError:
        return ""


def parent(pid: int) -> int:
    return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])


class BoardProcess:
    """A `vpyb run` process and the port it printed."""

    def __init__(self, *args: str) -> None:
        env = dict(os.environ)
        env.pop("PYTHONUNBUFFERED", None)
        self.proc = subprocess.Popen([sys.executable, "-m", "vpyb.host_tools.cli", "run", *args],
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
        line = self.proc.stdout.readline()
        m = READY.match(line)
        if not m:
            self.stop()
            raise RuntimeError(f"board did not start: {line!r} {self.proc.stderr.read()!r}")
        self.port = m.group(1).decode()

    def core_pids(self, name: str | None = None) -> list[int]:
        """This board's core processes (its template, standby and spare
        included: all are forked from the template, the host's child); with
        `name`, only those going by it: "vpyb-core", "vpyb-standby"..."""
        out = subprocess.run(["pgrep", "-f", "core_boot.py"], capture_output=True, text=True).stdout
        mine = []
        for pid in map(int, out.split()):
            try:
                ppid = parent(pid)
                if ppid != self.proc.pid:
                    ppid = parent(ppid)
            except (OSError, IndexError, ValueError):
                continue
            if ppid == self.proc.pid and (name is None or process_name(pid) == name):
                mine.append(pid)
        return mine

    def stop(self) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if not self.proc.stderr.closed:
            self.stderr_text = self.proc.stderr.read().decode(errors="replace")
        for f in (self.proc.stdout, self.proc.stderr):
            f.close()
        return self.proc.returncode


@pytest.fixture
def start_board():
    started: list[BoardProcess] = []

    def start(*args: str) -> BoardProcess:
        b = BoardProcess(*args)
        started.append(b)
        return b

    yield start
    for b in started:
        pids = b.core_pids()
        b.stop()
        for pid in pids:  # every core must be gone with its board
            deadline = time.monotonic() + 5
            while Path(f"/proc/{pid}").exists() and time.monotonic() < deadline:
                time.sleep(0.01)
            assert not Path(f"/proc/{pid}").exists(), f"core {pid} outlived its board"


@pytest.fixture
def board(start_board) -> BoardProcess:
    return start_board("--ephemeral")


@pytest.fixture
def repl(board: BoardProcess):
    """A raw REPL on a fresh `vpyb run` board."""
    r = RawRepl(board.port, timeout=60)
    r.enter()
    yield r
    r.close()


class Terminal:
    """The serial port as a test reads it: bytes in, bytes out, with timeouts."""

    def __init__(self, port: str) -> None:
        self.s = serial.serial_for_url(port, 115200, timeout=5)

    def write(self, data: bytes) -> None:
        self.s.write(data)

    def read_until(self, ending: bytes, timeout: float = 5.0) -> bytes:
        deadline = time.monotonic() + timeout
        data = bytearray()
        while not data.endswith(ending):
            if time.monotonic() > deadline:
                raise AssertionError(f"no {ending!r} in {bytes(data)!r}")
            self.s.timeout = max(0.01, deadline - time.monotonic())
            data += self.s.read(1)
        return bytes(data)

    def read_n(self, n: int, timeout: float = 5.0) -> bytes:
        self.s.timeout = timeout
        data = self.s.read(n)
        assert len(data) == n, f"wanted {n} bytes, got {data!r}"
        return data

    def read_for(self, seconds: float) -> bytes:
        self.s.timeout = seconds
        return self.s.read(1 << 20)

    def exchange(self, data: bytes, ending: bytes) -> bytes:
        self.write(data)
        return self.read_until(ending)

    def close(self) -> None:
        self.s.close()


@pytest.fixture
def hw():
    """An in-process VirtualBoard (its hardware model in reach) and a raw
    REPL entered on its pty."""
    board = VirtualBoard(ephemeral=True).start()
    repl = RawRepl(board.port)
    repl.enter()
    yield board, repl
    repl.close()
    board.stop()


@pytest.fixture
def term(board):
    t = Terminal(board.port)
    t.write(b"\r\x03")  # to a clean friendly prompt, as a person would
    t.read_until(b">>> ")
    t.read_for(0.05)
    yield t
    t.close()


def mpremote(port: str, *args: str, check: bool = True, timeout: float = 60) -> subprocess.CompletedProcess:
    env = dict(os.environ)
    env.pop("PYTHONUNBUFFERED", None)
    r = subprocess.run([sys.executable, "-m", "mpremote", "connect", port, *args],
                       capture_output=True, text=True, timeout=timeout, env=env)
    if check and r.returncode:
        raise AssertionError(f"mpremote {args} failed ({r.returncode}):\n{r.stdout}\n{r.stderr}")
    return r
