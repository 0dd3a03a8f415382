# Timers: pyb.Timer (the MCU's 14 timers, callbacks are hard IRQs) and the
# software machine.Timer (ports/stm32/timer.c, extmod/machine_timer.c).  The
# host keeps time and sends a tick event per period.
import array
import time
import fw_bus
import fw_side
from micropython import const

_SOFT_SLOTS = const(16)  # slots 1..14: pyb timers; 16..31: machine.Timer
RTC_SLOT = const(15)  # the RTC's wakeup timer
_NSLOTS = const(32)
_head = bytearray(6)
_slots = [None] * _NSLOTS
_units = {}
# What the host should tick each slot at (us, 0: off), and the slots it has
# not been told of yet.  A callback (a hard IRQ, the heap locked) that stops
# or starts a timer can't make a request: it sets these, and the host hears
# once the IRQ is over.
_want = array.array("I", [0] * _NSLOTS)
_oneshot = bytearray(_NSLOTS)
_dirty = bytearray(_NSLOTS)


def _arm(slot, period_us, oneshot):
    _want[slot] = period_us
    _oneshot[slot] = oneshot
    _dirty[slot] = 1
    sync()


def sync():
    # Tells the host of every timer changed since, unless the heap is locked.
    if fw_bus.heap_locked():
        return
    h = _head
    for slot in range(_NSLOTS):
        if _dirty[slot]:
            _dirty[slot] = 0
            us = _want[slot]
            h[0] = slot
            h[1] = _oneshot[slot]
            h[2] = us & 0xFF
            h[3] = us >> 8 & 0xFF
            h[4] = us >> 16 & 0xFF
            h[5] = us >> 24
            fw_side.request(fw_side.TIMER_SET, h)


def run_every(slot, obj, period_us):
    # obj._tick() every period_us from now on (0: never again).
    _slots[slot] = obj if period_us else None
    _arm(slot, period_us, 0)


def _on_tick(payload):
    t = _slots[payload[0]]
    if t is not None:
        t._tick()
    sync()


fw_side.handlers[fw_side.EV_TIMER] = _on_tick
fw_bus.after_hard_irq[0] = sync


def reset():
    # Soft reset: every timer stops (timer_deinit, soft_timer_deinit) and
    # is dropped, as the port's heap-allocated timer objects are.
    for t in _slots:
        if t is not None:
            t.deinit()
    _units.clear()


def _source_freq(n):
    return 168000000 if n in (1, 8, 9, 10, 11) else 84000000


def period_ns(t):
    # The time between two updates of a pyb.Timer.
    return (t._presc + 1) * (t._period + 1) * 1000000000 // _source_freq(t._id)


class Timer:
    # pyb.Timer
    UP = 0
    DOWN = 0x10
    CENTER = 0x20
    BRK_OFF = 0
    BRK_LOW = 1
    BRK_HIGH = 2

    _cb = None
    _irq = None

    def __new__(cls, id, *args, **kw):
        return fw_bus.single(cls, _units, fw_bus.unit("Timer", id, (), range(1, 15)))

    def __init__(self, id, *args, **kw):
        if args or kw:
            self.init(*args, **kw)

    def init(self, *, freq=None, prescaler=-1, period=-1, mode=0, div=1, callback=None,
             deadtime=0, brk=0):
        mask = 0xFFFFFFFF if self._id in (2, 5) else 0xFFFF
        src = _source_freq(self._id)
        if freq is not None:
            if freq <= 0:
                raise ValueError("must have positive freq")
            # Divide the clock into prescaler * period ticks (timer.c).
            ticks = int(src / freq)
            if ticks < 1:
                raise ValueError("freq too large")
            presc = 1
            while ticks > mask:
                if ticks % 5 == 0:
                    presc *= 5
                    ticks //= 5
                elif ticks % 3 == 0:
                    presc *= 3
                    ticks //= 3
                else:
                    presc <<= 1
                    ticks >>= 1
            if presc > 0x10000:
                raise ValueError("freq too small")
            prescaler, period = presc - 1, ticks - 1
        elif prescaler < 0 or period < 0:
            raise ValueError("must specify either freq, period, or prescaler and period")
        if period > mask:
            raise ValueError("period too large")
        self._presc = prescaler
        self._period = period
        self._mode = mode
        self._div = div
        self._start = time.ticks_us()
        self._on = True
        self.callback(callback)

    def deinit(self):
        self._on = False
        self.callback(None)

    def _period_us(self):
        return period_ns(self) // 1000

    def callback(self, fn):
        # Allocates nothing once the timer has had a callback: a callback
        # may set another, or None (timer.c).
        if fn is not None and not callable(fn):
            raise ValueError("callback must be None or a callable object")
        self._cb = fn
        if fn is not None:
            if self._irq is None:
                self._irq = fw_bus.Irq(fn, 1, True, self, "Timer %d interrupt handler" % self._id)
            self._irq.handler = fn
            self._irq.enabled = True
        _slots[self._id] = self if fn is not None else None
        _arm(self._id, self._period_us() if fn is not None and self._on else 0, 0)

    def _tick(self):
        if self._cb is None:
            return
        self._irq.fire()
        if not self._irq.enabled:
            self.callback(None)  # a callback that raised is switched off

    def freq(self, value=None):
        if value is not None:
            self.init(freq=value, mode=self._mode, div=self._div, callback=self._cb)
            return
        src = _source_freq(self._id)
        d = (self._presc + 1) * (self._period + 1)
        return src // d if src % d == 0 else src / d

    def prescaler(self, value=None):
        if value is None:
            return self._presc
        self._presc = value

    def period(self, value=None):
        if value is None:
            return self._period
        self._period = value

    def counter(self, value=None):
        # In integers: a callback may read it (no float on the heap).
        src = _source_freq(self._id)
        div = (self._presc + 1) * 1000000
        if value is not None:
            self._start = time.ticks_add(time.ticks_us(), -(value * div // src))
            return
        return time.ticks_diff(time.ticks_us(), self._start) * src // div % (self._period + 1)

    def source_freq(self):
        return _source_freq(self._id)

    def channel(self, *args, **kw):
        raise NotImplementedError("timer channels (PWM, output compare, input capture) are not modelled")

    def __repr__(self):
        if not self._on:
            return "Timer(%d)" % self._id
        s = "Timer(%d, freq=%s, prescaler=%d, period=%d, mode=%s, div=%d" % (
            self._id, self.freq(), self._presc, self._period,
            ("UP", "DOWN", "CENTER")[self._mode >> 4], self._div)
        if self._id in (1, 8):
            s += ", deadtime=0, brk=BRK_OFF"
        return s + ")"


class SoftTimer:
    # machine.Timer: the software timer, id -1 only.
    ONE_SHOT = 0
    PERIODIC = 1

    def __init__(self, id=-1, **kw):
        if id != -1:
            raise ValueError("Timer doesn't exist")
        self._slot = -1
        if kw:
            self.init(**kw)

    def init(self, *, mode=1, period=-1, callback=None, freq=-1, hard=True, tick_hz=1000):
        self.deinit()
        if freq > 0:
            us = int(1000000 / freq)
        else:
            us = int(period * 1000000 / tick_hz) if period >= 0 else 1000000
        self._mode = mode
        self._irq = fw_bus.Irq(callback, 1, hard, self, "Timer interrupt handler")
        for s in range(_SOFT_SLOTS, 32):
            if _slots[s] is None:
                self._slot = s
                _slots[s] = self
                _arm(s, max(us, 1), mode == 0)
                return
        raise OSError(12)  # ENOMEM: no software timer left

    def deinit(self):
        if self._slot >= 0:
            _slots[self._slot] = None
            _arm(self._slot, 0, 0)
            self._slot = -1

    def _tick(self):
        if self._mode == 0:
            self.deinit()
        self._irq.fire()

    def __repr__(self):
        return "Timer(mode=%s)" % ("ONE_SHOT", "PERIODIC")[self._mode]
