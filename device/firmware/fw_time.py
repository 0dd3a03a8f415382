# The board's `time` module: the core's clocks with the Pyboard's 2000-01-01
# epoch (ports/stm32/modtime.c).  The core runs with TZ=UTC, like an RTC.
__name__ = "time"

import time as _time
import fw_side
from micropython import const

_EPOCH_OFFSET = const(946684800)

# Sleeps keep handling the host's events, so IRQs fire while code sleeps.
sleep_ms = fw_side.wait_ms
sleep_us = fw_side.wait_us


def sleep(secs):
    fw_side.wait_us(int(secs * 1000000))

ticks_ms = _time.ticks_ms
ticks_us = _time.ticks_us
ticks_cpu = _time.ticks_cpu
ticks_add = _time.ticks_add
ticks_diff = _time.ticks_diff


# Seconds the board's RTC runs ahead of the host clock (set via RTC.datetime).
rtc_offset = [0]


def time():
    return _time.time() - _EPOCH_OFFSET + rtc_offset[0]


def time_ns():
    return _time.time_ns() + (rtc_offset[0] - _EPOCH_OFFSET) * 1000000000


def gmtime(secs=None):
    if secs is None:
        secs = time()
    return _time.gmtime(secs + _EPOCH_OFFSET)[:8]


localtime = gmtime


def mktime(t):
    return _time.mktime(tuple(t[:8]) + (0,) * (9 - len(t[:8]))) - _EPOCH_OFFSET
