# The board's USB VCP as the firmware sees it.
#
# fd 0/1 are the slave of a pty that the host owns.  The tty line discipline
# does two jobs a Pyboard's USB stack does in C:
#  - output is "cooked" (OPOST|ONLCR turns every \n into \r\n), so print(),
#    tracebacks and C-level output match shared/runtime/stdout_helpers.c;
#    firmware text therefore uses bare \n and never \r\n.  Binary output
#    (sys.stdout.buffer, mp_hal_stdout_tx_strn on the board) is written with
#    OPOST off for the write;
#  - while code runs, ISIG turns the interrupt char into SIGINT, which the
#    core raises as KeyboardInterrupt (shared/runtime/interrupt_char.c arms
#    it only during execution; bytes received while disarmed are plain data).
# User code reaches the console (sys.stdin's _con): it keeps the core's stdio
# files only as bound methods and termios only inside a closure on fd 0, so
# no file can be closed and no other tty call made from here.
import micropython
import select
from io import BytesIO, IOBase
from micropython import const
from uctypes import addressof
# Bound now: user code may replace any builtin, and a wrong length here
# would copy past a buffer.
from builtins import OSError, bytearray, bytes, len, memoryview, str, type

_OFLAG = const(1)
_LFLAG = const(3)
_CC = const(6)
_OPOST = const(0x1)
_ISIG = const(0x1)
_VINTR = const(0)
_TCSANOW = const(0)
_POLLIN = const(1)
_POLLOUT = const(4)
_POLL = const(3)  # MP_STREAM_POLL
_CLOSE = const(4)  # MP_STREAM_CLOSE
_EPERM = const(1)
_EINVAL = const(22)
_EVENT_FD = const(4)
_PENDING = const(1023)  # fw_side.MAX_PAYLOAD less the mode byte


def _tty_setter(tcsetattr):
    def apply(attrs):
        tcsetattr(0, _TCSANOW, attrs)

    return apply


@micropython.native
def _emit(write, s, a, b):
    # Native: no pending callback can run while a binary write has the
    # tty's output processing off.
    if a is None:
        return write(s)
    if b is None:
        return write(s, a)
    return write(s, a, b)


@micropython.viper
def _copy(dst: ptr8, off: int, src: ptr8, start: int, n: int):
    i = 0
    while i < n:
        dst[off + i] = src[start + i]
        i += 1


@micropython.viper
def _cr_to_lf(buf: ptr8, off: int, n: int):
    # sys.stdin reads \r as \n (sys_stdio_mphal.c stdio_read).
    i = off
    while i < off + n:
        if buf[i] == 13:
            buf[i] = 10
        i += 1


_EMPTY = BytesIO()


def _nbytes(buf):
    # A buffer's size in bytes (an array('H') holds two per item); a
    # bytearray's is found without allocating.
    if type(buf) is bytearray:
        return len(buf)
    mv = memoryview(buf)
    return addressof(mv[len(mv) :]) - addressof(mv)


class Console:
    def __init__(self, rx_buf, stdin, stdout, termios, on_event):
        # stdin, stdout: the core's fd 0 and 1 (binary); termios: the core's
        # module.  on_event: handles the host's events, which also wake a
        # waiting REPL (IRQ callbacks run at the prompt, as on the board).
        self._read = stdin.readinto
        self._write = stdout.write
        self._set_attrs = _tty_setter(termios.tcsetattr)
        self._rx = rx_buf
        self._rx_mv = memoryview(rx_buf)
        self._head = 0
        self._tail = 0
        self._on_event = on_event
        self._poll = select.poll()
        self._poll.register(0, _POLLIN)
        self._poll.register(_EVENT_FD, _POLLIN)
        self._ready(0)  # ipoll's first call allocates the tuple it yields: at boot
        # Read once: a core booted before its board's handover has a stand-in
        # tty of the same settings (device/core_tty.py).
        self._attrs = termios.tcgetattr(0)
        self._intr = 3
        self.disarm()

    # --- input -------------------------------------------------------
    def _ready(self, timeout_ms):
        # ipoll, not poll: no list to allocate, so input is read with the
        # heap locked or full too.
        for _ in self._poll.ipoll(timeout_ms):
            return True
        return False

    def _fill(self, timeout_ms):
        # Only called with the buffer empty, so the whole buffer is free.
        if not self._ready(timeout_ms):
            return 0
        self._on_event()
        n = self._read(self._rx_mv) or 0
        self._head = 0
        self._tail = n
        return n

    def any(self):
        if self._head == self._tail:
            self._fill(0)
        return self._tail - self._head

    def _wait(self):
        # Blocks until input is buffered (an interrupt raises).
        if self._head == self._tail:
            while not self._fill(-1):
                pass

    def next_byte(self):
        self._wait()
        c = self._rx[self._head]
        self._head += 1
        return c

    def getc(self):
        # For the REPLs: an interrupt that raced the disarm reads as Ctrl-C.
        try:
            return self.next_byte()
        except KeyboardInterrupt:
            return 3

    def getc_timeout(self, timeout_ms):
        if self._head == self._tail and not self._fill(timeout_ms):
            return -1
        return self.getc()

    def take(self, max_n):
        # A view of up to max_n buffered bytes (blocks until at least one).
        self._wait()
        h = self._head
        n = min(max_n, self._tail - h)
        self._head = h + n
        return self._rx_mv[h : h + n]

    def unget(self, n):
        self._head -= n

    def preload(self, f, n):
        # A new session: the input the last one left unread comes first.
        self._head = 0
        self._tail = f.readinto(self._rx_mv[:n]) or 0

    def pending(self):
        # At a soft reset: the input not read yet, buffered or waiting on
        # fd 0, for the next session (at most _PENDING bytes).
        n = self._tail - self._head
        self._rx_mv[:n] = self._rx_mv[self._head : self._tail]
        self._head = 0
        if n < _PENDING and self._ready(0):
            n += self._read(self._rx_mv[n:_PENDING]) or 0
        self._tail = n
        return self._rx_mv[: min(n, _PENDING)]

    def read_into(self, buf, off, n):
        # Up to n bytes into buf (any buffer) from byte off; blocks until
        # at least one has come.  Returns how many.
        self._wait()
        h = self._head
        k = self._tail - h
        if k > n:
            k = n
        _copy(buf, off, self._rx, h, k)
        self._head = h + k
        return k

    # --- output ------------------------------------------------------
    def write(self, s, a=None, b=None):
        # Cooked: the tty turns \n into \r\n.  s[, max_len] or s, off,
        # max_len as py/stream.c takes them; returns the bytes written.
        return _emit(self._write, s, a, b)

    def write_raw(self, s, a=None, b=None):
        # Bytes exactly as given, whatever buffer holds them.
        if a is None and type(s) is bytes and b"\n" not in s:
            return self._write(s)
        attrs = self._attrs
        attrs[_OFLAG] &= ~_OPOST
        self._set_attrs(attrs)
        try:
            return _emit(self._write, s, a, b)
        finally:
            attrs[_OFLAG] |= _OPOST
            self._set_attrs(attrs)

    # --- interrupt char ----------------------------------------------
    def arm(self):
        self._set_isig(self._intr >= 0)

    def disarm(self):
        self._intr = 3
        self._set_isig(False)

    def set_intr(self, c):
        # micropython.kbd_intr(c): takes effect now, reset by the next arm.
        self._intr = c
        if c >= 0:
            self._attrs[_CC][_VINTR] = bytes((c,))
        self._set_isig(c >= 0)

    def _set_isig(self, on):
        a = self._attrs
        if on:
            a[_CC][_VINTR] = bytes((self._intr,))
            a[_LFLAG] |= _ISIG
        else:
            a[_LFLAG] &= ~_ISIG
        self._set_attrs(a)


class FileIO(IOBase):
    # sys.stdin.buffer and sys.stdout.buffer, one object as on the board
    # (shared/runtime/sys_stdio_mphal.c): the VCP's bytes as they come and
    # as given.  Reads block until the count asked for has come; buffers of
    # any kind, with (buf[, max_len]) and (buf, off, max_len) as
    # py/stream.c takes them.
    def __init__(self, con, fd):
        self._con = con
        self._fd = fd  # only shown, as the board shows it

    def __repr__(self):
        return "<io.%s %d>" % (type(self).__name__, self._fd)

    def _in(self, buf, off, n):
        return self._con.read_into(buf, off, n)

    def _byte(self):
        return self._con.next_byte()

    def read(self, n=-1):
        if n < 0:
            # To the end of the stream, which the VCP never reaches: it
            # blocks until interrupted, as on the board.
            out = bytearray()
            while True:
                out.append(self._byte())
        b = bytearray(n)
        self.readinto(b)
        return bytes(b)

    def readinto(self, buf, n=-1):
        _EMPTY.readinto(buf, 0)  # a read-only buffer fails as py/stream.c's check makes it
        size = _nbytes(buf)
        if 0 <= n < size:
            size = n
        got = 0
        while got < size:
            got += self._in(buf, got, size - got)
        return got

    def readline(self, limit=-1):
        out = bytearray()
        while len(out) != limit:
            c = self._byte()
            out.append(c)
            if c == 10:
                break
        return bytes(out)

    def write(self, buf, a=None, b=None):
        return self._con.write_raw(buf, a, b)

    def ioctl(self, req, arg):
        if req == _POLL:
            ready = arg & _POLLOUT  # the VCP takes output at any time
            if arg & _POLLIN and self._con.any():
                ready |= _POLLIN
            return ready
        if req == _CLOSE:
            return 0
        return -_EINVAL  # no fd number either: polled through this method

    def close(self):
        pass


class TextIOWrapper(FileIO):
    # sys.stdin (fd 0), sys.stdout (1) and sys.stderr (2): text is cooked
    # on output (\n as \r\n) and \r reads as \n; each refuses the other
    # direction with EPERM.  read(n) counts bytes (the board counts
    # characters: the same for ASCII).
    def __init__(self, con, fd, buffer):
        super().__init__(con, fd)
        self.buffer = buffer

    def _in(self, buf, off, n):
        self._reading()
        n = self._con.read_into(buf, off, n)
        _cr_to_lf(buf, off, n)
        return n

    def _byte(self):
        self._reading()
        c = self._con.next_byte()
        return 10 if c == 13 else c

    def _reading(self):
        if self._fd:
            raise OSError(_EPERM)

    def read(self, n=-1):
        return str(super().read(n), "utf-8")

    def readline(self, limit=-1):
        return str(super().readline(limit), "utf-8")

    def write(self, s, a=None, b=None):
        if not self._fd:
            raise OSError(_EPERM)
        return self._con.write(s, a, b)


def stdio(con):
    # (sys.stdin, sys.stdout, sys.stderr) on the console.
    buffer = FileIO(con, 0)
    return tuple(TextIOWrapper(con, fd, buffer) for fd in (0, 1, 2))
