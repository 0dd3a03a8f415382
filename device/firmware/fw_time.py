# The board's `time` module: the core's clocks with the Pyboard's 2000-01-01
# epoch (ports/stm32/modtime.c).  The core runs with TZ=UTC, like an RTC.
__name__ = "time"

import time as _time
from fw_side import wait_ms as sleep_ms, wait_us as sleep_us
from micropython import const
from fw_regs import rtc_offset

_EPOCH_OFFSET = const(946684800)

# Sleeps keep handling the host's events (fw_side.wait_ms), so IRQs fire
# while code sleeps.


def sleep(secs):
    sleep_us(int(secs * 1000000))

# Ticks as a 32-bit port counts them: from the board's power-on, wrapping
# at 2**30 (MICROPY_PY_TIME_TICKS_PERIOD, a small int's range there); the
# 64-bit core's own ticks would wrap at 2**62.  In its time namespace the
# core's own clock (which asyncio's C part reads) already counts from
# power-on; without one, `_origin` is the power-on on the host's clock.
_MASK = const(0x3FFFFFFF)
_HALF = const(0x20000000)
_WORD = const(0x80000000)  # a 32-bit port's mp_int_t
_CPU_MHZ = const(168)  # ticks_cpu counts at the STM32F405's clock (DWT->CYCCNT)
_origin = [0]  # microseconds


def set_power_on(us):
    _origin[0] = us


def ticks_ms():
    return (_time.ticks_ms() - _origin[0] // 1000) & _MASK


def ticks_us():
    return (_time.ticks_us() - _origin[0]) & _MASK


def ticks_cpu():
    # In steps of 168 (a microsecond): the host can't count the board's cycles.
    return ((_time.ticks_us() - _origin[0]) * _CPU_MHZ) & _MASK


def ticks_add(ticks, delta):
    # extmod/modtime.c: a delta ticks_diff can't give back (|delta| >=
    # half the period) overflows; delta is a machine word there first.
    if not -_HALF < delta < _HALF:
        if not -_WORD <= delta < _WORD:
            raise OverflowError("overflow converting long int to machine word")
        raise OverflowError("ticks interval overflow")
    return (ticks + delta) & _MASK


def ticks_diff(end, start):
    return ((end - start + _HALF) & _MASK) - _HALF


def time():
    # Whole seconds since 2000-01-01, as the board's RTC counts.
    return (_time.time_ns() + rtc_offset()) // 1000000000 - _EPOCH_OFFSET


def time_ns():
    return _time.time_ns() + rtc_offset() - _EPOCH_OFFSET * 1000000000


def gmtime(secs=None):
    if secs is None:
        secs = time()
    return _time.gmtime(secs + _EPOCH_OFFSET)[:8]


localtime = gmtime


def mktime(t):
    return _time.mktime(tuple(t[:8]) + (0,) * (9 - len(t[:8]))) - _EPOCH_OFFSET
