# The board's `machine` module.  Peripherals are thin clients of the host's
# models (fw_side); what the board has but vpyb does not model says so.
# Like every module user code imports, it names only what it offers, never a
# firmware module.
__name__ = "machine"

from random import getrandbits as _getrandbits
from uctypes import bytearray_at as _bytearray_at
from fw_adc import MachineADC as _MachineADC
from fw_bus import unmodelled as _unmodelled
from fw_i2c import I2C, SoftI2C
from fw_mem import mem8, mem16, mem32
from fw_pins import Pin
from fw_regs import mapped as _mapped
from fw_side import drain as _drain, idle as _idle
from fw_spi import SPI, SoftSPI
from fw_time import (gmtime as _gmtime, mktime as _mktime, rtc_offset as _rtc_offset,
                     ticks_diff as _ticks_diff, ticks_us as _ticks_us, time as _time)
from fw_regs import set_rtc_offset as _set_rtc_offset
from fw_timer import SoftTimer as _SoftTimer
from fw_uart import UART
from micropython import const

PWRON_RESET = const(1)
HARD_RESET = const(2)
WDT_RESET = const(3)
DEEPSLEEP_RESET = const(4)
SOFT_RESET = const(0)

ADC = type("ADC", (_MachineADC,), {})
Timer = type("Timer", (_SoftTimer,), {})
PWM = _unmodelled("PWM")
CAN = _unmodelled("CAN")
I2S = _unmodelled("I2S")
I2CTarget = _unmodelled("I2CTarget")
SDCard = _unmodelled("SDCard")
WDT = _unmodelled("WDT")
del _MachineADC, _SoftTimer, _unmodelled

_UID_ADDR = const(0x1FFF7A10)
_state = {"reset_cause": PWRON_RESET}


def rng():
    # The RNG peripheral: 30 random bits.
    return _getrandbits(30)


def idle():
    _idle(1)


class Signal:
    # A pin with an optional inversion (extmod/machine_signal.c).
    def __init__(self, pin, *args, invert=False, **kw):
        self._pin = pin if isinstance(pin, Pin) else Pin(pin, *args, **kw)
        self._invert = bool(invert)

    def value(self, v=None):
        if v is None:
            return self._pin.value() ^ self._invert
        self._pin.value(bool(v) ^ self._invert)

    def __call__(self, v=None):
        return self.value(v)

    def on(self):
        self.value(1)

    def off(self):
        self.value(0)


class HardReset(BaseException):
    # Unwinds everything; the core exits and the host boots a new one.
    pass


def reset():
    raise HardReset()


def soft_reset():
    raise SystemExit()


def bootloader():
    raise NotImplementedError("the virtual board has no DFU bootloader")


def reset_cause():
    return _state["reset_cause"]


def unique_id():
    if not _mapped():
        return bytes(12)
    return bytes(_bytearray_at(_UID_ADDR, 12))


def freq(*args):
    if args:
        raise NotImplementedError("changing the clock is not modelled")
    return (168000000, 168000000, 42000000, 84000000)


_irq_enabled = [True]


def disable_irq():
    was = _irq_enabled[0]
    _irq_enabled[0] = False
    return was


def enable_irq(state=True):
    _irq_enabled[0] = bool(state)


def time_pulse_us(pin, pulse_level, timeout_us=1000000):
    # Waits for the pin to reach pulse_level, then times how long it stays
    # (extmod/machine_pulse.c): -2 if it never came, -1 if it never ended.
    start = _ticks_us()
    while pin.value() != pulse_level:
        if _ticks_diff(_ticks_us(), start) >= timeout_us:
            return -2
        _drain()
    start = _ticks_us()
    while pin.value() == pulse_level:
        if _ticks_diff(_ticks_us(), start) >= timeout_us:
            return -1
        _drain()
    return _ticks_diff(_ticks_us(), start)


class RTC:
    # The board's clock: the host clock plus an offset the user can set.
    def __init__(self, id=0):
        pass

    def datetime(self, dt=None):
        if dt is None:
            y, mo, d, h, mi, s, wd, _ = _gmtime()
            return (y, mo, d, wd + 1, h, mi, s, 0)
        y, mo, d, _wd, h, mi, s = dt[:7]
        _set_rtc_offset(_rtc_offset() + _mktime((y, mo, d, h, mi, s, 0, 0)) - _time())

    def init(self, dt):
        self.datetime(dt)

    def __repr__(self):
        return "<RTC>"
