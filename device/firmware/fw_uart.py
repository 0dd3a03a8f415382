# machine.UART (= pyb.UART): the board's UARTs, whose wires end at host
# models (ports/stm32/machine_uart.c, uart.c).  TX goes to the host as a
# request and takes the line's time; RX arrives as events into a ring buffer.
import time
import fw_bus
import fw_pins
import fw_side
from micropython import const

_NAMES = (("XA", 4), ("XB", 1), ("YA", 6), ("YB", 3))
_VALID = (1, 2, 3, 4, 6)
# TX and RX pin of each UART, and its alternate function number.
_PINS = {1: (0x16, 0x17, 7), 2: (0x02, 0x03, 7), 3: (0x1A, 0x1B, 7), 4: (0x00, 0x01, 8), 6: (0x26, 0x27, 8)}
_RTS = const(256)
_CTS = const(512)
_IRQ_RXIDLE = const(0x10)
_IRQ_RX = const(0x20)
_units = {}
_head = bytearray(6)


def reset():
    # Soft reset: every UART is deinitialised (uart_deinit_all) and dropped:
    # the port's UART objects live on the heap a soft reset clears.
    for u in _units.values():
        u.deinit()
    _units.clear()


def _on_rx(payload):
    u = _units.get(payload[0])
    if u is not None and u._on:
        u._receive(payload[1:])


fw_side.handlers[fw_side.EV_UART] = _on_rx


class UART:
    RTS = _RTS
    CTS = _CTS
    IRQ_RX = _IRQ_RX
    IRQ_RXIDLE = _IRQ_RXIDLE

    _irq = None

    def __new__(cls, id, *args, **kw):
        return fw_bus.single(cls, _units, fw_bus.unit("UART", id, _NAMES, _VALID))

    def __init__(self, id, *args, **kw):
        if args or kw:
            self.init(*args, **kw)

    def init(self, baudrate=9600, bits=8, parity=None, stop=1, *, flow=0, timeout=0,
             timeout_char=0, rxbuf=-1, read_buf_len=64):
        if (bits + (parity is not None)) not in (8, 9):
            raise ValueError("unsupported combination of bits and parity")
        clk = 84000000 if self._id in (1, 6) else 42000000
        brr = (clk + baudrate // 2) // baudrate
        actual = clk // brr if 16 <= brr <= 0xFFFF else 0
        if abs(actual - baudrate) * 20 > baudrate:
            raise ValueError("set baudrate %d is not within 5%% of desired value" % baudrate)
        self._baud = actual
        self._bits = bits
        self._parity = parity
        self._stop = 1 if stop == 1 else 2
        self._flow = flow & (_RTS | _CTS)
        self._timeout = timeout
        self._timeout_char = max(timeout_char, 13000 // baudrate + 2)
        n = read_buf_len if rxbuf < 0 else rxbuf
        self._rxbuf = n
        self._ring = bytearray(max(n, 1) + 1)  # one slot stays free
        self._rh = 0
        self._rt = 0
        tx, rx, alt = _PINS[self._id]
        fw_pins.Pin(fw_pins.cpu_name(tx), fw_pins.Pin.ALT, fw_pins.Pin.PULL_UP, alt=alt)
        fw_pins.Pin(fw_pins.cpu_name(rx), fw_pins.Pin.ALT, fw_pins.Pin.PULL_UP, alt=alt)
        h = _head
        h[0] = self._id
        h[1] = self._bits
        h[2] = 0 if parity is None else 1 + parity
        h[3] = self._stop
        h[4] = 1
        fw_side.request(fw_side.UART_INIT, h[:5] + actual.to_bytes(4, "little"))
        self._on = True

    def deinit(self):
        if self._on:
            self._on = False
            self._irq = None
            _head[0] = self._id
            _head[4] = 0
            fw_side.request(fw_side.UART_INIT, _head[:5] + bytes(4))

    def _need(self):
        if not self._on:
            raise OSError(1)  # MP_EPERM, as a UART used before init

    # --- receiving ---------------------------------------------------
    def _receive(self, data):
        # Runs from the event handler: the producer side of the ring.
        ring = self._ring
        size = len(ring)
        t = self._rt
        for c in data:
            nt = t + 1 if t + 1 < size else 0
            if nt == self._rh:
                break  # overrun: the rest is lost, as on the board
            ring[t] = c
            t = nt
        self._rt = t
        irq = self._irq
        if irq is not None and irq._trigger:
            irq.fire(irq._trigger)

    def any(self):
        self._need()
        fw_side.drain()
        n = self._rt - self._rh
        return n if n >= 0 else n + len(self._ring)

    def _wait(self, timeout):
        # True once a byte is buffered, False after timeout ms without one.
        if self.any():
            return True
        end = time.ticks_add(time.ticks_ms(), timeout)
        while True:
            left = time.ticks_diff(end, time.ticks_ms())
            if left <= 0:
                return False
            fw_side.idle(left)
            if self.any():
                return True

    def _getc(self):
        c = self._ring[self._rh]
        self._rh = self._rh + 1 if self._rh + 1 < len(self._ring) else 0
        return c

    def readinto(self, buf, nbytes=-1):
        self._need()
        n = len(buf) if nbytes < 0 else min(nbytes, len(buf))
        got = 0
        timeout = self._timeout
        while got < n and self._wait(timeout):
            buf[got] = self._getc()
            got += 1
            timeout = self._timeout_char
        return got if got else None

    def read(self, nbytes=-1):
        self._need()
        if nbytes >= 0:
            buf = bytearray(nbytes)
            n = self.readinto(buf)
            return None if n is None else bytes(buf[:n])
        out = bytearray()
        timeout = self._timeout
        while self._wait(timeout):
            out.append(self._getc())
            timeout = self._timeout_char
        return bytes(out) if out else None

    def readline(self):
        self._need()
        out = bytearray()
        timeout = self._timeout
        while self._wait(timeout):
            c = self._getc()
            out.append(c)
            if c == 10:
                break
            timeout = self._timeout_char
        return bytes(out) if out else None

    def readchar(self):
        self._need()
        return self._getc() if self._wait(self._timeout) else -1

    # --- sending -----------------------------------------------------
    def write(self, buf):
        self._need()
        if isinstance(buf, str):
            buf = buf.encode()
        start = time.ticks_us()
        mv = memoryview(buf)
        for at in range(0, len(mv), fw_side.MAX_PAYLOAD - 1):
            _head[0] = self._id
            fw_side.request(fw_side.UART_WRITE, _head[:1], mv[at : at + fw_side.MAX_PAYLOAD - 1])
        # The line takes its time: start, data, parity and stop bits per char.
        bits = 1 + self._bits + (self._parity is not None) + self._stop
        fw_bus.line_time(start, len(mv) * bits, self._baud)
        return len(mv)

    def writechar(self, c):
        _head[5] = c
        self.write(_head[5:6])

    def sendbreak(self):
        self._need()

    def flush(self):
        self._need()

    def txdone(self):
        return True

    def irq(self, *args, **kw):
        # No arguments: the IRQ object as it is (extmod/machine_uart.c).
        if self._irq is None:
            self._irq = fw_bus.Irq(None, 0, False, self, "UART irq handler")
        if args or kw:
            self._set_irq(*args, **kw)
        return self._irq

    def _set_irq(self, handler=None, trigger=_IRQ_RX, hard=False):
        if handler is not None and not callable(handler):
            raise ValueError("handler must be None or callable")
        bad = trigger & ~(_IRQ_RX | _IRQ_RXIDLE)
        if trigger and bad:
            raise ValueError("trigger 0x%08x unsupported" % bad)
        irq = self._irq
        irq.handler = handler
        irq._trigger = trigger
        irq.hard = hard

    def __repr__(self):
        if not self._on:
            return "UART(%d)" % self._id
        flow = ("0", "RTS", "CTS", "RTS|CTS")[self._flow >> 8]
        s = "UART(%d, baudrate=%d, bits=%d, parity=%s, stop=%d, flow=%s, timeout=%d, timeout_char=%d, rxbuf=%d" % (
            self._id, self._baud, self._bits, self._parity, self._stop, flow, self._timeout,
            self._timeout_char, self._rxbuf)
        if self._irq and self._irq._trigger:
            s += "; irq=0x%x" % self._irq._trigger
        return s + ")"
