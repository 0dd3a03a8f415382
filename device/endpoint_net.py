"""The board's serial port over the network: plain TCP (`socket://HOST:P`) or
RFC 2217 (`rfc2217://HOST:P`, Telnet negotiation by pyserial's PortManager).

Each endpoint is a client of the board's pty, opened only while a network
client is connected, so the pty stays the one serial line: the endpoint takes
the same exclusive lock (flock) that pyserial and mpremote take, and a second
client, on either side, is refused instead of seeing interleaved bytes.  While
it has a client, an endpoint stops listening, so a second client of the same
endpoint is refused at connect, as opening a busy serial port fails; a client
of another endpoint while the port is busy is told so (BUSY) and closed.

Nothing a client sends can end the endpoint: whatever goes wrong with one
client (a malformed Telnet command, an endless subnegotiation, a reset or a
vanished peer) drops that client alone, releases the port and is logged (a few
lines at a time, so a client reconnecting in a loop can't flood the log).
"""
from __future__ import annotations

import errno
import fcntl
import os
import select
import socket
import termios
import threading
import time
import tty
from typing import Callable

from serial import rfc2217

from .ratelimit import RateLimitedLog

BUSY = b"vpyb: this board's port is in use by another client\r\n"
CHUNK = 65536
# Telnet subnegotiations are a few bytes (RFC 2217's longest is a signature
# string): one that runs on is a client filling the host's memory.
SB_LIMIT = 4096
# Telnet replies a client leaves unread: past this, the client isn't read
# either, so requests it keeps sending can't pile replies up in the host.
NET_BACKLOG = CHUNK
# A peer that vanished without closing (its host gone): keepalive probes find
# it when the line is idle, TCP_USER_TIMEOUT when output waits unacknowledged.
VANISHED_PEER = (("TCP_KEEPIDLE", 5), ("TCP_KEEPINTVL", 2), ("TCP_KEEPCNT", 3),
                 ("TCP_USER_TIMEOUT", 10_000))
RETRY = 1.0  # seconds between attempts to listen again, or to accept when out of fds
_IN, _OUT = select.POLLIN, select.POLLOUT


class ClientError(Exception):
    """What a client did that ends its session."""


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


def _bound_server(host: str, port: int) -> socket.socket:
    """A socket bound to a port number of its own: one the kernel picked for
    port 0 would go back to the pool when the endpoint stops listening."""
    with socket.socket() as picker:
        picker.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        picker.bind((host, port))
        server = socket.socket()
        try:
            server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            server.bind((host, picker.getsockname()[1]))
        except OSError:
            server.close()
            raise
    return server


def _watch_for_vanishing(conn: socket.socket) -> None:
    conn.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
    for name, value in VANISHED_PEER:
        if hasattr(socket, name):  # all on Linux; macOS lacks TCP_USER_TIMEOUT
            conn.setsockopt(socket.IPPROTO_TCP, getattr(socket, name), value)


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
        self._server = _bound_server(host, port)
        self._server.listen()
        self._server.setblocking(False)
        self._listening = True
        self.url = f"{protocol}://{host}:{self._server.getsockname()[1]}"
        # A client reconnecting in a loop can't flood the log (nor block on it).
        self._log = RateLimitedLog(lambda msg: log(f"{self.url}: {msg}"))
        self._client: socket.socket | None = None
        self._peer = ""
        self._pty: int | None = None
        self._manager: rfc2217.PortManager | None = None
        self._to_pty = b""
        self._to_net = bytearray()
        self._wake_r, self._wake_w = os.pipe()
        self._stopping = False
        self._thread = threading.Thread(target=self._run, name=f"vpyb-{protocol}", daemon=True)
        self._thread.start()

    def close(self) -> None:
        self._stopping = True
        os.write(self._wake_w, b"x")
        self._thread.join(5)
        self._drop_client(None)
        self._server.close()
        os.close(self._wake_r)
        os.close(self._wake_w)

    # --- the loop ----------------------------------------------------
    def _run(self) -> None:
        while not self._stopping:
            poll = select.poll()
            poll.register(self._wake_r, _IN)
            if self._listening:
                poll.register(self._server, _IN)
            if self._client is not None:
                # Read a side only once the other side took what came from it.
                takes_input = not self._to_pty and len(self._to_net) < NET_BACKLOG
                poll.register(self._client, (_IN if takes_input else 0) | (_OUT if self._to_net else 0))
                poll.register(self._pty, (0 if self._to_net else _IN) | (_OUT if self._to_pty else 0))
            idle = not self._listening and self._client is None  # listening again failed
            for fd, ev in poll.poll(int(RETRY * 1000) if idle else None):
                if fd == self._wake_r:
                    os.read(self._wake_r, 64)
                elif self._listening and fd == self._server.fileno():
                    self._accept()
                elif self._client is not None and fd in (self._client.fileno(), self._pty):
                    try:
                        if fd == self._pty:
                            self._pty_event(ev)
                        else:
                            self._client_event(ev)
                    except Exception as e:  # whatever one client causes ends that client only
                        self._drop_client(f"dropped: {e}")
            if not self._listening and self._client is None:
                self._listen()

    def _listen(self) -> None:
        try:
            self._server.listen()
        except OSError as e:  # another socket took the port meanwhile
            self._log(f"can't listen again ({e}); retrying")
            return
        self._listening = True

    def _accept(self) -> None:
        # Every waiting connection is taken now: the first may become the
        # client, the rest are refused with a word rather than reset.
        while True:
            try:
                conn, peer = self._server.accept()
            except BlockingIOError:
                break
            except OSError as e:  # out of fds: the connection waits, and so does the loop
                self._log(f"can't accept a client: {e}")
                time.sleep(RETRY)
                return
            name = f"{peer[0]}:{peer[1]}"
            if self._client is not None:
                self._refuse(conn, name)
                continue
            try:
                self._take(conn, name)
            except OSError as e:
                conn.close()
                self._log(f"client {name} refused: the board's port can't be opened ({e})")
        if self._client is not None:
            try:
                self._server.shutdown(socket.SHUT_RD)  # stops listening, keeps the port
                self._listening = False
            except OSError:
                pass  # not on this system: later clients hear BUSY instead

    def _take(self, conn: socket.socket, name: str) -> None:
        try:
            fd = self._open_pty()
        except BlockingIOError:  # a pty client (mpremote, picocom...) or another endpoint has it
            self._refuse(conn, name)
            return
        try:
            conn.setblocking(False)
            conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            _watch_for_vanishing(conn)
        except OSError:
            os.close(fd)
            raise
        self._client, self._pty, self._peer = conn, fd, name
        self._log(f"client {name} connected")
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

    def _refuse(self, conn: socket.socket, name: str) -> None:
        self._log(f"client {name} refused: the port is in use")
        try:
            conn.setblocking(False)
            conn.send(BUSY)
        except OSError:
            pass
        conn.close()

    def _drop_client(self, reason: str | None) -> None:
        if self._client is None:
            return
        if reason:
            self._log(f"client {self._peer} {reason}")
        if self._pty is not None:
            os.close(self._pty)  # also releases the lock
            self._pty = None
        if not self._listening and not self._stopping:
            self._listen()  # before the close, so a client told of it can come straight back
        self._client.close()
        self._client = None
        self._manager = None
        self._to_pty = b""
        self._to_net = bytearray()

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
            if not data:
                self._drop_client("disconnected")
                return
            if self._manager is not None:
                data = self._telnet(data)
            self._to_pty += data
            self._flush_pty()
            if self._to_net:
                self._flush_net()

    def _telnet(self, data: bytes) -> bytes:
        """The client's data less its Telnet commands, which PortManager
        answers.  Fed in slices so an open subnegotiation is checked before
        it can hold more than twice SB_LIMIT."""
        assert self._manager is not None
        kept = bytearray()
        for start in range(0, len(data), SB_LIMIT):
            try:
                kept += b"".join(self._manager.filter(data[start:start + SB_LIMIT]))
            except Exception as e:  # pyserial's parser trusts its input: TypeError, KeyError, struct.error...
                raise ClientError(f"malformed Telnet command ({type(e).__name__}: {e})") from e
            pending = self._manager.suboption
            if pending is not None and len(pending) > SB_LIMIT:
                raise ClientError(f"Telnet subnegotiation longer than {SB_LIMIT} bytes")
        return bytes(kept)

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
            del self._to_net[:n]

    # --- modem lines ---------------------------------------------------
    def _modem_line(self, line: str, asserted: bool) -> None:
        # The line going active pulls the board's reset, as DTR on an
        # Arduino-style auto-reset circuit or RTS on an ESP32 board's EN.
        if line == self._reset_on and asserted and self._reset is not None:
            self._log(f"{line.upper()} asserted: hard reset")
            try:
                self._reset()
            except Exception as e:  # the board's trouble, not the client's: it stays
                self._log(f"hard reset failed: {e}")

    def _purge(self) -> None:
        self._to_pty = b""
