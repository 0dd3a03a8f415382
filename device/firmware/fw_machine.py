# The board's `machine` module (reset and identity part; peripherals are
# modelled on the host and come in through the side channel).
__name__ = "machine"

import machine as _m
import fw_time
from micropython import const

PWRON_RESET = const(1)
HARD_RESET = const(2)
WDT_RESET = const(3)
DEEPSLEEP_RESET = const(4)
SOFT_RESET = const(0)

mem8 = _m.mem8
mem16 = _m.mem16
mem32 = _m.mem32
idle = _m.idle
Signal = _m.Signal

_state = {"reset_cause": PWRON_RESET, "unique_id": b"\x00" * 12}


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
    return _state["unique_id"]


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
    raise NotImplementedError("time_pulse_us needs the pin model")


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
