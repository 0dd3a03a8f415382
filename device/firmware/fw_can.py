# pyb.CAN: the F405's two bxCAN controllers (ports/stm32/pyb_can.c, can.c).
# Nothing else is on the bus: in LOOPBACK modes a frame comes back to its
# own filters (fw_can_filter) once its bits have gone out at its bit rate; in
# NORMAL mode no node acknowledges it, so it is sent again and again (the
# error counter climbing to error passive) until cancelled; in SILENT mode
# it never starts.  Three TX mailboxes, two 3-deep RX FIFOs that overwrite
# their last message when full, and the RX interrupts as can.c drives them.
# send, recv into a list, any and info allocate nothing, as the board's (a
# callback may call them).
import array
import micropython
import time
import uctypes
import fw_bus
import fw_can_filter
import fw_pins
import fw_side
import fw_timer
from micropython import const

_NORMAL = const(0)
_LOOPBACK = const(0x04000000)  # the ST constants >> 4 (pyb_can.c)
_SILENT = const(0x08000000)
_SILENT_LOOPBACK = const(0x0C000000)
_MODES = {_NORMAL: "NORMAL", _LOOPBACK: "LOOPBACK", _SILENT: "SILENT",
          _SILENT_LOOPBACK: "SILENT_LOOPBACK"}
_CLOCK = const(42000000)  # APB1
_SLOT = const(0)  # the timer slot ticking frames out while a callback waits
# Mailbox and FIFO entry flags; the RX interrupt bits (FMP, FF, FOV).
_USED = const(1)
_IDE = const(2)
_RTR = const(4)
_FMP = const(1)
_FF = const(2)
_FOV = const(4)
_PINS = {1: (0x19, 0x18), 2: (0x1D, 0x1C)}  # TX, RX: Y4/Y3 (B9/B8), Y6/Y5 (B13/B12)
_units = {}
_controllers = []  # the same, as a list: iterating a dict's values allocates
_busy = bytearray(1)  # the bus model is being moved on
_LIST = list  # (recv's argument is named list)

@micropython.viper
def _copy(dst: uint, src: uint, n: int):
    d = ptr8(dst)
    s = ptr8(src)
    for i in range(n):
        d[i] = s[i]


@micropython.viper
def _mv_typecode(mv: uint) -> int:
    # mp_obj_array_t: base, then the typecode in the low byte of a word.
    return ptr8(mv)[8]


@micropython.viper
def _mv_resize(mv: uint, n: int) -> uint:
    # Sets a memoryview's len (elements) and returns its items pointer, as
    # pyb_can_recv does to the list's memoryview.
    p = ptr32(mv)
    p[4] = n
    p[5] = 0
    return uint(p[6]) | (uint(p[7]) << 32)


class _Ticker:
    # Frames go out on time while a callback waits for them.
    def __init__(self):
        self.on = False

    def update(self):
        need = False
        for c in _controllers:
            need = need or c._cur >= 0 and (c._cb[0] is not None or c._cb[1] is not None)
        if need != self.on:
            self.on = need
            fw_timer.run_every(_SLOT, self if need else None, 1000 if need else 0)

    def _tick(self):
        for c in _controllers:
            c._advance()
        self.update()


_ticker = _Ticker()


class CAN:
    NORMAL = _NORMAL
    LOOPBACK = _LOOPBACK
    SILENT = _SILENT
    SILENT_LOOPBACK = _SILENT_LOOPBACK
    MASK16 = fw_can_filter.MASK16
    LIST16 = fw_can_filter.LIST16
    MASK32 = fw_can_filter.MASK32
    LIST32 = fw_can_filter.LIST32
    STOPPED = 0
    ERROR_ACTIVE = 1
    ERROR_WARNING = 2
    ERROR_PASSIVE = 3
    BUS_OFF = 4

    def __new__(cls, bus, *args, **kw):
        c = fw_bus.single(cls, _units, fw_bus.unit("CAN", bus, (("YA", 1), ("YB", 2)), (1, 2)))
        if not hasattr(c, "_tx_id"):
            c._make()
        return c

    def __init__(self, bus, *args, **kw):
        if not self._on or args:
            if self._on:
                self.deinit()
            self._cb[0] = self._cb[1] = None
            self._rx_state[0] = self._rx_state[1] = 0
            if args or kw:
                self.init(*args, **kw)

    def _make(self):
        # The controller's state, allocated once: what send and recv use
        # must exist before a callback runs them with the heap locked.
        self._tx_id = array.array("I", [0] * 3)
        self._tx_flags = bytearray(3)
        self._tx_dlc = bytearray(3)
        self._tx_data = bytearray(24)
        self._tx_seq = array.array("I", [0] * 3)
        self._rx_id = array.array("I", [0] * 6)  # 3 entries per FIFO
        self._rx_flags = bytearray(6)
        self._rx_fmi = bytearray(6)
        self._rx_dlc = bytearray(6)
        self._rx_data = bytearray(48)
        self._rx_head = bytearray(2)
        self._rx_count = bytearray(2)
        self._ier = bytearray(2)
        self._flags = bytearray(2)
        self._rx_state = bytearray(2)
        self._cb = [None, None]
        self._reason = bytearray(2)
        self._irqs = [fw_bus.Irq(self._call0, 1, True, self, "CAN(%d) rx interrupt handler" % self._id),
                      fw_bus.Irq(self._call1, 1, True, self, "CAN(%d) rx interrupt handler" % self._id)]
        self._mode = _NORMAL
        self._bit_ns = 0
        self._auto_restart = False
        self._reset()
        _controllers.append(self)

    def _reset(self):
        # The peripheral's reset: mailboxes, FIFOs, interrupts and counters.
        for i in range(3):
            self._tx_flags[i] = 0
        for f in range(2):
            self._rx_count[f] = self._rx_head[f] = self._ier[f] = self._flags[f] = 0
        self._seq = 0
        self._cur = -1
        self._cur_end = 0
        self._tec = self._rec = 0
        self._warnings = self._passives = self._bus_offs = 0

    def init(self, mode, prescaler=100, *, sjw=1, bs1=6, bs2=8, auto_restart=False, baudrate=0,
             sample_point=75, num_filter_banks=14):
        if baudrate:
            prescaler, bs1, bs2 = _bit_timing(baudrate, sample_point)
        fw_can_filter.start[0] = num_filter_banks
        self._reset()
        self._mode = mode
        self._bit_ns = prescaler * (1 + bs1 + bs2) * 1000000000 // _CLOCK
        self._auto_restart = bool(auto_restart)
        for i in _PINS[self._id]:
            fw_pins.Pin(fw_pins.cpu_name(i), fw_pins.Pin.ALT, fw_pins.Pin.PULL_UP, alt=9)
        self._on = True

    def deinit(self):
        lo, hi = fw_can_filter.banks(self._id)
        for b in range(lo, hi):
            fw_can_filter.clear(b)
        self._reset()
        self._on = False
        _ticker.update()

    def restart(self):
        if not self._on:
            raise ValueError()
        self._advance()
        self._tec = self._rec = 0

    def state(self):
        if not self._on:
            return 0
        self._advance()
        return 3 if self._tec >= 128 else 2 if self._tec >= 96 else 1

    def info(self, list=None):
        self._advance()
        out = [0] * 8 if list is None else list
        out[0] = self._tec
        out[1] = self._rec
        out[2] = self._warnings
        out[3] = self._passives
        out[4] = self._bus_offs
        out[5] = (self._tx_flags[0] & _USED) + (self._tx_flags[1] & _USED) + (self._tx_flags[2] & _USED)
        out[6] = self._rx_count[0]
        out[7] = self._rx_count[1]
        return out

    def any(self, fifo):
        self._advance()
        return self._rx_count[fifo] != 0

    # --- filters --------------------------------------------------------
    def setfilter(self, bank, mode, fifo, params, *, rtr=None, extframe=False):
        fw_can_filter.configure(self._id, bank, mode, fifo, params, rtr, extframe)

    def clearfilter(self, bank, extframe=False):
        fw_can_filter.clear(fw_can_filter.banks(self._id)[0] + bank)

    # --- sending --------------------------------------------------------
    def send(self, data, id, *, timeout=0, rtr=False, extframe=False):
        n = 1 if isinstance(data, int) else len(data)
        if n > 8:
            raise ValueError("CAN data field too long")
        self._advance()
        held = _busy[0]
        _busy[0] = 1  # a mailbox is filled whole before the bus sees it
        try:
            mb = self._fill(data, n, id, rtr, extframe)
        finally:
            _busy[0] = held
        _ticker.update()
        if timeout == 0:
            return
        start = time.ticks_ms()
        while self._tx_flags[mb] & _USED:
            if time.ticks_diff(time.ticks_ms(), start) > timeout:
                self._cancel(mb)
                raise OSError(110)
            _wait()
            self._advance()

    def _cancel(self, mb):
        # can_cancel_transmit: the mailbox is aborted.
        held = _busy[0]
        _busy[0] = 1
        self._tx_flags[mb] = 0
        if self._cur == mb:
            self._next(time.ticks_us())
        _busy[0] = held

    def _fill(self, data, n, id, rtr, extframe):
        mb = -1
        for i in range(3):
            if not self._tx_flags[i] & _USED:
                mb = i
                break
        if mb < 0:
            raise OSError(16)  # HAL_BUSY: EBUSY
        if isinstance(data, int):
            self._tx_data[8 * mb] = data
        else:
            _copy(uctypes.addressof(self._tx_data) + 8 * mb, uctypes.addressof(data), n)
        self._tx_id[mb] = id & (0x1FFFFFFF if extframe else 0x7FF)
        self._tx_dlc[mb] = n
        self._seq += 1
        self._tx_seq[mb] = self._seq
        self._tx_flags[mb] = _USED | (_IDE if extframe else 0) | (_RTR if rtr else 0)
        if self._cur < 0:
            self._next(time.ticks_us())
        return mb

    def _frame_ns(self, mb):
        # SOF to interframe space, without stuff bits: 47 bits and the data
        # for a standard frame, 67 for an extended one.
        f = self._tx_flags[mb]
        bits = (67 if f & _IDE else 47) + (0 if f & _RTR else 8 * self._tx_dlc[mb])
        return bits * self._bit_ns

    def _next(self, at):
        # The pending mailbox with the lowest identifier goes out from `at`.
        self._cur = -1
        if self._mode == _SILENT:
            return  # silent: it can't start a transmission
        best = -1
        for i in range(3):
            if self._tx_flags[i] & _USED and (best < 0 or self._tx_id[i] < self._tx_id[best] or (
                    self._tx_id[i] == self._tx_id[best] and self._tx_seq[i] < self._tx_seq[best])):
                best = i
        if best >= 0:
            self._cur = best
            self._cur_end = time.ticks_add(at, self._frame_ns(best) // 1000)

    def _advance(self):
        # Every frame whose last bit has gone by now.  Not again while it
        # runs: the host's events (the ticker) come between any two
        # bytecodes, and a callback it runs may call send or recv.
        if _busy[0]:
            return
        _busy[0] = 1
        try:
            self._bus()
        finally:
            _busy[0] = 0

    def _bus(self):
        while self._cur >= 0:
            now = time.ticks_us()
            end = self._cur_end
            if time.ticks_diff(now, end) < 0:
                return
            mb = self._cur
            if self._mode & _LOOPBACK:
                self._tx_flags[mb] &= ~_USED
                self._deliver(mb)
                self._next(end)
            else:
                self._not_acknowledged()
                if self._tec >= 128:
                    # Error passive: more attempts change nothing; the
                    # frame is on the wire again now.
                    end = now
                self._next(end)

    def _not_acknowledged(self):
        # An ACK error: TEC + 8, up to error passive (ISO 11898-1 fault
        # confinement: an error-passive node's ACK error adds nothing).
        if self._tec < 128:
            self._tec += 8
            if self._tec == 96:
                self._warnings += 1
            elif self._tec == 128:
                self._passives += 1

    # --- receiving ------------------------------------------------------
    def _deliver(self, mb):
        f = self._tx_flags[mb]
        where = fw_can_filter.match(self._id, self._tx_id[mb], f & _IDE, f & _RTR)
        if where < 0:
            return
        fifo = where >> 8
        count = self._rx_count[fifo]
        if count < 3:
            slot = (self._rx_head[fifo] + count) % 3
            self._rx_count[fifo] = count + 1
            if count == 2:
                self._flags[fifo] |= _FF
        else:
            slot = (self._rx_head[fifo] + 2) % 3  # FIFO unlocked: the last is overwritten
            self._flags[fifo] |= _FOV
        e = 3 * fifo + slot
        self._rx_id[e] = self._tx_id[mb]
        self._rx_flags[e] = self._tx_flags[mb] & (_IDE | _RTR)
        self._rx_fmi[e] = where & 0xFF
        self._rx_dlc[e] = self._tx_dlc[mb]
        for i in range(8):
            self._rx_data[8 * e + i] = self._tx_data[8 * mb + i]
        self._rx_irq(fifo)

    def _rx_irq(self, fifo):
        # can_rx_irq_handler, if an enabled interrupt is pending.
        ier = self._ier[fifo]
        flags = self._flags[fifo]
        pending = self._rx_count[fifo] != 0
        if not (pending and ier & _FMP or flags & ier & (_FF | _FOV)):
            return
        if flags & _FF:
            self._ier[fifo] &= ~_FF
            self._flags[fifo] &= ~_FF
            if not flags & _FOV:
                self._callback(fifo, 1)
        if flags & _FOV:
            self._ier[fifo] &= ~_FOV
            self._flags[fifo] &= ~_FOV
            self._callback(fifo, 2)
        if pending and ier & _FMP:
            self._ier[fifo] &= ~_FMP
            self._callback(fifo, 0)

    def _callback(self, fifo, reason):
        # pyb_can_irq_handler: the state, then the callback as a hard IRQ;
        # one that raises is switched off.
        self._rx_state[fifo] = reason + 1
        if self._cb[fifo] is None:
            return
        self._reason[fifo] = reason
        irq = self._irqs[fifo]
        irq.enabled = True
        irq.fire()
        if not irq.enabled:
            self.rxcallback(fifo, None)

    def _call0(self, _):
        self._cb[0](self, self._reason[0])

    def _call1(self, _):
        self._cb[1](self, self._reason[1])

    def rxcallback(self, fifo, fn):
        if fn is None:
            self._ier[fifo] = 0
            self._cb[fifo] = None
        elif self._cb[fifo] is not None:
            self._cb[fifo] = fn
        elif callable(fn):
            self._cb[fifo] = fn
            self._enable_rx(fifo, True)
        _ticker.update()

    def _enable_rx(self, fifo, pending_too):
        self._ier[fifo] |= (_FMP if pending_too else 0) | _FF | _FOV
        self._rx_irq(fifo)

    def recv(self, fifo, list=None, *, timeout=5000):
        if fifo not in (0, 1):
            raise TypeError()
        start = time.ticks_ms()
        self._advance()
        while not self._rx_count[fifo]:
            if time.ticks_diff(time.ticks_ms(), start) >= timeout:
                raise OSError(110)
            _wait()
            self._advance()
        held = _busy[0]
        _busy[0] = 1  # the FIFO is released whole before the bus sees it
        try:
            e = self._release(fifo)
        finally:
            _busy[0] = held
        dlc = self._rx_dlc[e]
        if list is None:
            list = [0, 0, 0, 0, bytes(self._rx_data[8 * e:8 * e + dlc])]
        else:
            if not isinstance(list, _LIST):
                raise TypeError()
            if len(list) < 5:
                raise ValueError()
            mv = list[4]
            if not isinstance(mv, memoryview):
                raise TypeError()
            tc = _mv_typecode(id(mv))
            if tc != 0x81 and tc | 0x20 != 0xE2:  # a writable bytearray, or array 'b'/'B'
                raise ValueError()
            _copy(_mv_resize(id(mv), dlc), uctypes.addressof(self._rx_data) + 8 * e, dlc)
        list[0] = self._rx_id[e]
        list[1] = bool(self._rx_flags[e] & _IDE)
        list[2] = bool(self._rx_flags[e] & _RTR)
        list[3] = self._rx_fmi[e]
        return list

    def _release(self, fifo):
        # The FIFO's oldest entry is read out (its index returned) and
        # the RX interrupts set again as pyb_can_recv does.
        e = 3 * fifo + self._rx_head[fifo]
        self._rx_head[fifo] = (self._rx_head[fifo] + 1) % 3
        self._rx_count[fifo] -= 1
        if self._cb[fifo] is not None:
            empty = not self._rx_count[fifo]
            state = self._rx_state[fifo]
            if state == 1 and empty:
                self._rx_state[fifo] = 0
            elif state > 1:
                self._rx_state[fifo] = 1
            self._enable_rx(fifo, empty)
        return e

    def __repr__(self):
        if not self._on:
            return "CAN(%d)" % self._id
        return "CAN(%d, CAN.%s, auto_restart=%s)" % (self._id, _MODES.get(self._mode, "SILENT_LOOPBACK"),
                                                   self._auto_restart)


def _wait():
    # A millisecond's wait that takes the host's events, unless the heap
    # is locked (an event's handling allocates): then a plain sleep.
    if fw_bus.heap_locked():
        time.sleep_us(100)
    else:
        fw_side.idle(1)


def _bit_timing(baudrate, sample_point):
    # The prescaler and segments nearest to baudrate, the sample point
    # nearest to sample_point % (bs1 1..16, bs2 1..8, prescaler 1..1024).
    best = None
    for tq in range(25, 2, -1):
        presc = _CLOCK // (baudrate * tq)
        if not 1 <= presc <= 1024 or _CLOCK % (baudrate * tq):
            continue
        bs1 = max(1, min(16, (tq * sample_point + 50) // 100 - 1))
        bs2 = tq - 1 - bs1
        if 1 <= bs2 <= 8:
            err = abs((1 + bs1) * 100 // tq - sample_point)
            if best is None or err < best[0]:
                best = (err, presc, bs1, bs2)
    if best is None:
        raise ValueError("unable to calculate CAN bit timing")
    return best[1:]
