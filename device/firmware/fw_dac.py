# pyb.DAC (ports/stm32/dac.c): the two 12-bit DAC channels on X5 (A4) and
# X6 (A5), in the DAC's registers of the register file, where the host
# reads each channel's output (DAC_DORx).  noise() and triangle() set the
# hardware's wave generation in DAC_CR (the host does not synthesise the
# wave); write_timed() steps the output through the samples at the
# trigger's rate, by TIM6's updates.
import time
import fw_bus
import fw_mem
import fw_pins
import fw_timer
from micropython import const

_DAC = const(0x40007400)
_CR = const(0x00)
_DHR12R1 = const(0x08)
_DOR1 = const(0x2C)
_EN = const(1)
_TEN = const(1 << 2)
_TSEL_T6 = const(0)  # TSEL 000: TIM6 TRGO
_WAVE_NOISE = const(1 << 6)
_WAVE_TRIANGLE = const(2 << 6)
_MAMP_4095 = const(11 << 8)  # the widest LFSR mask / triangle amplitude
_DMAEN = const(1 << 12)
_PINS = (0x04, 0x05)  # A4, A5
_TIM6 = const(6)  # the timer slot of TIM6, the DAC's trigger
_units = {}


def _reg(off):
    return fw_mem.mem32[_DAC + off]


def _set_reg(off, v):
    fw_mem.mem32[_DAC + off] = v


class _Trigger:
    # TIM6's updates as the host ticks them (at most every millisecond):
    # each puts out the sample due by then on every channel playing.
    def __init__(self):
        self.us = 0

    def arm(self):
        us = 0
        for u in _units.values():
            if u._samples is not None:
                p = max(u._ns // 1000, 1)
                us = p if us == 0 else min(us, p)
        if us != self.us:
            self.us = us
            fw_timer.run_every(_TIM6, self if us else None, us)

    def _tick(self):
        for u in _units.values():
            u._tick()


_trigger = _Trigger()


class DAC:
    NORMAL = 0
    CIRCULAR = 0x100  # DMA_CIRCULAR

    _samples = None

    def __new__(cls, port, *args, **kw):
        if isinstance(port, int):
            n = port
        else:
            i = fw_pins.find(port)
            if i not in _PINS:
                raise ValueError("Pin(%s) doesn't have DAC capabilities" % fw_pins.cpu_name(i))
            n = _PINS.index(i) + 1
        if n not in (1, 2):
            raise ValueError("DAC(%d) doesn't exist" % n)
        return fw_bus.single(cls, _units, n)

    def __init__(self, port, *args, **kw):
        if not self._on or args or kw:
            self.init(*args, **kw)

    def init(self, bits=8, *, buffering=None):
        fw_pins.Pin(fw_pins.cpu_name(_PINS[self._id - 1]), fw_pins.Pin.ANALOG)
        self._set_cr(0)
        if bits not in (8, 12):
            raise ValueError("unsupported bits")
        self._bits = bits
        self._on = True

    def deinit(self):
        self._set_cr(0)

    def _set_cr(self, cr):
        # The channel's fields of DAC_CR (channel 2's are 16 bits up); what
        # it played stops.
        if self._samples is not None:
            self._samples = None
            _trigger.arm()
        sh = 16 * (self._id - 1)
        _set_reg(_CR, _reg(_CR) & ~(0xFFFF << sh) | cr << sh)

    def _out(self, value):
        _set_reg(_DHR12R1 + 12 * (self._id - 1), value)
        _set_reg(_DOR1 + 4 * (self._id - 1), value)

    def write(self, value):
        self._set_cr(_EN)
        self._out(value << (12 - self._bits) & 0xFFF)

    def noise(self, freq):
        self._set_cr(_MAMP_4095 | _WAVE_NOISE | _TEN | _TSEL_T6 | _EN)
        self._out(0)

    def triangle(self, freq):
        self._set_cr(_MAMP_4095 | _WAVE_TRIANGLE | _TEN | _TSEL_T6 | _EN)
        self._out(0)

    def write_timed(self, data, freq, *, mode=NORMAL):
        # A sample per trigger (freq in Hz, TIM6's, or a Timer's updates):
        # 8-bit samples from bytes, 12-bit ones from 16-bit words.
        self._set_cr(_DMAEN | _TEN | _TSEL_T6 | _EN)
        self._ns = 1000000000 // freq if isinstance(freq, int) else fw_timer.period_ns(freq)
        self._words = self._bits == 12 and isinstance(data, (bytes, bytearray))
        self._samples = memoryview(data)
        self._circular = mode == self.CIRCULAR
        self._start = time.ticks_us()
        self._last = -1
        _trigger.arm()
        self._tick()

    def _tick(self):
        s = self._samples
        if s is None:
            return
        n = len(s) // 2 if self._words else len(s)
        i = time.ticks_diff(time.ticks_us(), self._start) * 1000 // self._ns
        if i >= n:
            if self._circular:
                i %= n
            else:
                i = n - 1
                self._samples = None
                _trigger.arm()
        if i != self._last:
            self._last = i
            v = s[2 * i] | s[2 * i + 1] << 8 if self._words else s[i]
            self._out(v << 4 if self._bits == 8 else v & 0xFFF)

    def __repr__(self):
        return "DAC(%d, bits=%d)" % (self._id, self._bits)
