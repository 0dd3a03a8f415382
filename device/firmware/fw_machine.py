# The board's `machine` module.  Peripherals are thin clients of the host's
# models (fw_side); what the board has but vpyb does not model says so.
__name__ = "machine"

import random
import uctypes
import fw_adc
import fw_bus
import fw_i2c
import fw_mem
import fw_pins
import fw_regs
import fw_side
import fw_spi
import fw_time
import fw_timer
import fw_uart
from micropython import const

PWRON_RESET = const(1)
HARD_RESET = const(2)
WDT_RESET = const(3)
DEEPSLEEP_RESET = const(4)
SOFT_RESET = const(0)

mem8 = fw_mem.mem8
mem16 = fw_mem.mem16
mem32 = fw_mem.mem32
Pin = fw_pins.Pin
UART = fw_uart.UART
I2C = fw_i2c.I2C
SoftI2C = fw_i2c.SoftI2C
SPI = fw_spi.SPI
SoftSPI = fw_spi.SoftSPI
ADC = type("ADC", (fw_adc.MachineADC,), {})
Timer = type("Timer", (fw_timer.SoftTimer,), {})
PWM = fw_bus.unmodelled("PWM")
CAN = fw_bus.unmodelled("CAN")
I2S = fw_bus.unmodelled("I2S")
I2CTarget = fw_bus.unmodelled("I2CTarget")
SDCard = fw_bus.unmodelled("SDCard")
WDT = fw_bus.unmodelled("WDT")

_UID_ADDR = const(0x1FFF7A10)
_state = {"reset_cause": PWRON_RESET}


def rng():
    # The RNG peripheral: 30 random bits.
    return random.getrandbits(30)


def idle():
    fw_side.idle(1)


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
    if not fw_regs.mapped():
        return bytes(12)
    return bytes(uctypes.bytearray_at(_UID_ADDR, 12))


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
    start = fw_time.ticks_us()
    while pin.value() != pulse_level:
        if fw_time.ticks_diff(fw_time.ticks_us(), start) >= timeout_us:
            return -2
        fw_side.drain()
    start = fw_time.ticks_us()
    while pin.value() == pulse_level:
        if fw_time.ticks_diff(fw_time.ticks_us(), start) >= timeout_us:
            return -1
        fw_side.drain()
    return fw_time.ticks_diff(fw_time.ticks_us(), start)


class RTC:
    # The board's clock: the host clock plus an offset the user can set.
    def __init__(self, id=0):
        pass

    def datetime(self, dt=None):
        if dt is None:
            y, mo, d, h, mi, s, wd, _ = fw_time.gmtime()
            return (y, mo, d, wd + 1, h, mi, s, 0)
        y, mo, d, _wd, h, mi, s = dt[:7]
        fw_time.rtc_offset[0] += fw_time.mktime((y, mo, d, h, mi, s, 0, 0)) - fw_time.time()

    def init(self, dt):
        self.datetime(dt)

    def __repr__(self):
        return "<RTC>"
