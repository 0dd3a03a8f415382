# The board's USB VCP as the firmware sees it.
#
# fd 0/1 are the slave of a pty that the host owns.  The tty line discipline
# does two jobs a Pyboard's USB stack does in C:
#  - output is "cooked" (OPOST|ONLCR turns every \n into \r\n), so print(),
#    tracebacks and C-level output match shared/runtime/stdout_helpers.c;
#    firmware text therefore uses bare \n and never \r\n;
#  - while code runs, ISIG turns the interrupt char into SIGINT, which the
#    core raises as KeyboardInterrupt (shared/runtime/interrupt_char.c arms
#    it only during execution; bytes received while disarmed are plain data).
# User code reaches the console (sys.stdin's _con): it keeps the core's stdio
# files only as bound methods and termios only inside a closure on fd 0, so
# no file can be closed and no other tty call made from here.
import select
from io import IOBase
from micropython import const

_OFLAG = const(1)
_LFLAG = const(3)
_CC = const(6)
_OPOST = const(0x1)
_ISIG = const(0x1)
_VINTR = const(0)
_TCSANOW = const(0)
_POLLIN = const(1)
_GET_FILENO = const(10)
_POLL = const(3)
_EVENT_FD = const(4)
_PENDING = const(1023)  # fw_side.MAX_PAYLOAD less the mode byte


def _tty_setter(tcsetattr):
    def apply(attrs):
        tcsetattr(0, _TCSANOW, attrs)

    return apply


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

    def getc(self):
        # For the REPLs: an interrupt that raced the disarm reads as Ctrl-C.
        if self._head == self._tail:
            try:
                while not self._fill(-1):
                    pass
            except KeyboardInterrupt:
                return 3
        c = self._rx[self._head]
        self._head += 1
        return c

    def getc_timeout(self, timeout_ms):
        if self._head == self._tail and not self._fill(timeout_ms):
            return -1
        return self.getc()

    def take(self, max_n):
        # A view of up to max_n buffered bytes (blocks until at least one).
        if self._head == self._tail:
            while not self._fill(-1):
                pass
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

    def readinto(self, buf, n):
        mv = memoryview(buf)
        got = 0
        while got < n:
            chunk = self.take(n - got)
            k = len(chunk)
            mv[got : got + k] = chunk
            got += k
        return got

    # --- output ------------------------------------------------------
    def write(self, s, n=-1):
        # Cooked: the tty turns \n into \r\n.  n: write only s[:n], uncopied.
        if n < 0:
            self._write(s)
        else:
            self._write(s, n)

    def write_raw(self, b):
        # Bytes exactly as given (sys.stdout.buffer, paste-mode echo of \n).
        if b"\n" not in b:
            self._write(b)
            return
        a = self._attrs
        a[_OFLAG] &= ~_OPOST
        self._set_attrs(a)
        try:
            self._write(b)
        finally:
            a[_OFLAG] |= _OPOST
            self._set_attrs(a)

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


class RawIn(IOBase):
    # sys.stdin.buffer: bytes straight from the VCP, pollable.
    def __init__(self, con):
        self._con = con

    def read(self, n=-1):
        if n < 0:
            n = 1
        b = bytearray(n)
        self._con.readinto(b, n)
        return bytes(b)

    def readinto(self, buf, n=-1):
        if n < 0:
            n = len(buf)
        return self._con.readinto(buf, n)

    def ioctl(self, req, arg):
        if req == _GET_FILENO:
            return -1
        if req == _POLL:
            return _POLLIN if (arg & _POLLIN) and self._con.any() else 0
        return 0


class TextIn(RawIn):
    # sys.stdin: like the board's, \r arrives as \n (sys_stdio_mphal.c).
    def __init__(self, con):
        super().__init__(con)
        self.buffer = RawIn(con)

    def read(self, n=-1):
        return str(super().read(n).replace(b"\r", b"\n"), "utf-8")

    def readinto(self, buf, n=-1):
        n = super().readinto(buf, n)
        mv = memoryview(buf)
        for i in range(n):
            if mv[i] == 13:
                mv[i] = 10
        return n

    def readline(self):
        out = bytearray()
        while True:
            c = self._con.take(1)[0]
            if c == 13:
                c = 10
            out.append(c)
            if c == 10:
                return str(out, "utf-8")


class RawOut(IOBase):
    # sys.stdout.buffer: no \r insertion. Accepts (buf[, max_len]) and
    # (buf, off, max_len) like py/stream.c.
    def __init__(self, con):
        self._con = con

    def write(self, buf, a=-1, b=-1):
        if b >= 0:
            buf = memoryview(buf)[a : a + b]
        elif a >= 0:
            buf = memoryview(buf)[:a]
        if isinstance(buf, str):
            buf = buf.encode()
        self._con.write_raw(buf)
        return len(buf)

    def flush(self):
        pass


class TextOut(RawOut):
    # sys.stdout / sys.stderr: cooked, and accepts bytes as well as str.
    def __init__(self, con):
        super().__init__(con)
        self.buffer = RawOut(con)

    def write(self, s, a=-1, b=-1):
        if b >= 0:
            s = s[a : a + b]
        elif a >= 0:
            s = s[:a]
        self._con.write(s)
        return len(s)
