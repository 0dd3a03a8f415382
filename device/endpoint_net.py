"""The board's serial port over the network: plain TCP (`socket://HOST:P`) or
RFC 2217 (`rfc2217://HOST:P`, Telnet negotiation by pyserial's PortManager).

Each endpoint is a client of the board's pty, opened only while a network
client is connected, so the pty stays the one serial line: the endpoint takes
the same exclusive lock (flock) that pyserial and mpremote take, and a second
client, on either side, is refused instead of seeing interleaved bytes.
"""
from __future__ import annotations

import errno
import fcntl
import os
import select
import socket
import termios
import threading
import tty
from typing import Callable

from serial import rfc2217

BUSY = b"vpyb: this board's port is in use by another client\r\n"
CHUNK = 65536
_IN, _OUT = select.POLLIN, select.POLLOUT


class ModemLines:
    """The serial-port object PortManager configures.  Line settings are
    kept (a virtual line has no baud rate to obey); DTR/RTS changes are
    reported so they can reset the board as a USB-serial chip would."""

    def __init__(self, on_change: Callable[[str, bool], None], purge: Callable[[], None]) -> None:
        self.baudrate, self.bytesize, self.parity, self.stopbits = 115200, 8, "N", 1
        self.xonxoff = self.rtscts = self.break_condition = False
        self.cts = self.dsr = self.cd = True
        self.ri = False
        self._lines = {"dtr": False, "rts": False}
        self._on_change = on_change
        self._purge = purge

    def _set(self, line: str, value: bool) -> None:
        was, self._lines[line] = self._lines[line], value
        if value != was:
            self._on_change(line, value)

    dtr = property(lambda self: self._lines["dtr"], lambda self, v: self._set("dtr", v))
    rts = property(lambda self: self._lines["rts"], lambda self, v: self._set("rts", v))

    def reset_input_buffer(self) -> None:
        self._purge()

    def reset_output_buffer(self) -> None:
        self._purge()


class NetEndpoint:
    """Serves the board's pty to one network client at a time."""

    def __init__(self, pty_path: str, port: int = 0, *, protocol: str = "socket",
                 host: str = "127.0.0.1", reset_on: str | None = None,
                 reset: Callable[[], None] | None = None,
                 log: Callable[[str], None] = lambda msg: None) -> None:
        if protocol not in ("socket", "rfc2217"):
            raise ValueError(f"unknown protocol {protocol!r}: use 'socket' or 'rfc2217'")
        if reset_on not in (None, "dtr", "rts"):
            raise ValueError(f"reset_on is 'dtr', 'rts' or None, not {reset_on!r}")
        self._pty_path = pty_path
        self._protocol = protocol
        self._reset_on = reset_on
        self._reset = reset
        self._log = log
        self._server = socket.create_server((host, port))
        self._server.setblocking(False)
        bound = self._server.getsockname()
        self.url = f"{protocol}://{host}:{bound[1]}"
        self._client: socket.socket | None = None
        self._pty: int | None = None
        self._manager: rfc2217.PortManager | None = None
        self._to_pty = b""
        self._to_net = b""
        self._wake_r, self._wake_w = os.pipe()
        self._stopping = False
        self._thread = threading.Thread(target=self._run, name=f"vpyb-{protocol}", daemon=True)
        self._thread.start()

    def close(self) -> None:
        self._stopping = True
        os.write(self._wake_w, b"x")
        self._thread.join(5)
        self._drop_client()
        self._server.close()
        os.close(self._wake_r)
        os.close(self._wake_w)

    # --- the loop ----------------------------------------------------
    def _run(self) -> None:
        while not self._stopping:
            poll = select.poll()
            poll.register(self._wake_r, _IN)
            poll.register(self._server, _IN)
            if self._client is not None:
                # Read a side only once the other side took what came from it.
                poll.register(self._client, (0 if self._to_pty else _IN) | (_OUT if self._to_net else 0))
                poll.register(self._pty, (0 if self._to_net else _IN) | (_OUT if self._to_pty else 0))
            for fd, ev in poll.poll():
                if fd == self._wake_r:
                    os.read(self._wake_r, 64)
                elif fd == self._server.fileno():
                    self._accept()
                elif self._client is not None and fd == self._client.fileno():
                    self._client_event(ev)
                elif fd == self._pty:
                    self._pty_event(ev)

    def _accept(self) -> None:
        try:
            conn, peer = self._server.accept()
        except BlockingIOError:
            return
        if self._client is not None:
            self._refuse(conn)
            return
        try:
            fd = self._open_pty()
        except BlockingIOError:  # a pty client (mpremote, picocom -X...) holds the port
            self._refuse(conn)
            return
        conn.setblocking(False)
        conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self._client, self._pty = conn, fd
        self._log(f"{self.url}: client {peer[0]}:{peer[1]} connected")
        if self._protocol == "rfc2217":
            lines = ModemLines(self._modem_line, self._purge)
            self._manager = rfc2217.PortManager(lines, self)

    def _open_pty(self) -> int:
        fd = os.open(self._pty_path, os.O_RDWR | os.O_NOCTTY | os.O_NONBLOCK)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            tty.setraw(fd, termios.TCSANOW)
        except OSError:
            os.close(fd)
            raise
        return fd

    def _refuse(self, conn: socket.socket) -> None:
        try:
            conn.sendall(BUSY)
        except OSError:
            pass
        conn.close()

    def _drop_client(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None
        if self._pty is not None:
            os.close(self._pty)  # also releases the lock
            self._pty = None
        self._manager = None
        self._to_pty = self._to_net = b""

    # --- data ----------------------------------------------------------
    def write(self, data: bytes) -> None:
        """PortManager's way to the client (Telnet replies)."""
        self._to_net += data

    def _client_event(self, ev: int) -> None:
        if ev & _OUT:
            self._flush_net()
        if ev & (_IN | select.POLLHUP | select.POLLERR) and self._client is not None:
            try:
                data = self._client.recv(CHUNK)
            except BlockingIOError:
                return
            except OSError:
                data = b""
            if not data:
                self._log(f"{self.url}: client disconnected")
                self._drop_client()
                return
            if self._manager is not None:
                data = b"".join(self._manager.filter(data))
            self._to_pty += data
            self._flush_pty()
            if self._to_net:
                self._flush_net()

    def _pty_event(self, ev: int) -> None:
        if ev & _OUT:
            self._flush_pty()
        if ev & _IN and not self._to_net and self._pty is not None:
            try:
                data = os.read(self._pty, CHUNK)
            except OSError as e:
                if e.errno in (errno.EAGAIN, errno.EIO):
                    return
                raise
            if self._manager is not None:
                data = b"".join(self._manager.escape(data))
            self._to_net += data
            self._flush_net()

    def _flush_pty(self) -> None:
        if self._to_pty and self._pty is not None:
            try:
                n = os.write(self._pty, self._to_pty)
            except BlockingIOError:
                return
            self._to_pty = self._to_pty[n:]

    def _flush_net(self) -> None:
        if self._to_net and self._client is not None:
            try:
                n = self._client.send(self._to_net)
            except BlockingIOError:
                return
            except OSError:
                self._drop_client()
                return
            self._to_net = self._to_net[n:]

    # --- modem lines ---------------------------------------------------
    def _modem_line(self, line: str, asserted: bool) -> None:
        # The line going active pulls the board's reset, as DTR on an
        # Arduino-style auto-reset circuit or RTS on an ESP32 board's EN.
        if line == self._reset_on and asserted and self._reset is not None:
            self._log(f"{self.url}: {line.upper()} asserted: hard reset")
            self._reset()

    def _purge(self) -> None:
        self._to_pty = b""
