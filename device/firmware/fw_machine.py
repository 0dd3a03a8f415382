# The board's `machine` module.  Peripherals are thin clients of the host's
# models (fw_side); what the board has but vpyb does not model says so.
# Like every module user code imports, it names only what it offers, never a
# firmware module.
__name__ = "machine"

from random import getrandbits as _getrandbits
from uctypes import bytearray_at as _bytearray_at
from time import sleep_us as _sleep_us
from fw_adc import MachineADC as _MachineADC
from fw_bus import Irq as _Irq, unmodelled as _unmodelled
from fw_i2c import I2C, SoftI2C
from fw_i2s import I2S
from fw_heap import dump_map as _dump_map, gc_info as _gc_info
from fw_mem import mem8, mem16, mem32
from fw_os import statvfs as _statvfs
from fw_pins import Pin, exti_event as _woken, exti_events as _wakes
from fw_regs import (mapped as _mapped, rtc_offset as _rtc_offset, rtc_weekday as _rtc_weekday,
                     set_rtc_offset as _set_rtc_offset, set_rtc_weekday as _set_rtc_weekday,
                     standby as _standby)
from fw_side import drain as _drain, idle as _idle
from fw_spi import SPI, SoftSPI
from fw_time import (gmtime as _gmtime, mktime as _mktime, ticks_add as _ticks_add,
                     ticks_diff as _ticks_diff, ticks_ms as _ticks_ms, ticks_us as _ticks_us,
                     time_ns as _time_ns)
from fw_timer import RTC_SLOT as _RTC_SLOT, SoftTimer as _SoftTimer, run_every as _run_every
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
I2CTarget = _unmodelled("I2CTarget")
SDCard = _unmodelled("SDCard")
WDT = _unmodelled("WDT")
del _MachineADC, _SoftTimer, _unmodelled

_UID_ADDR = const(0x1FFF7A10)
_state = {"reset_cause": PWRON_RESET, "standby": False}


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


# The link map's symbols as pyb.info() prints them: a PYBV11 build's
# (pyboard-facts.md section 2; the text and data ends vary with the build).
_LINK = (("_etext", 0x807C3D8), ("_sidata", 0x807C3D8), ("_sdata", 0x20000000),
         ("_edata", 0x20000060), ("_sbss", 0x20000060), ("_ebss", 0x20002358),
         ("_sstack", 0x2001BFF8), ("_estack", 0x2001FFF8), ("_ram_start", 0x20000000),
         ("_heap_start", 0x20002358), ("_heap_end", 0x2001BFF8), ("_ram_end", 0x20020000))
_DBGMCU_IDCODE = const(0xE0042000)


def info(dump=None):
    # machine_info (ports/stm32/modmachine.c): identity, clocks, the link
    # map, qstrs, the user's heap, the free space on /flash, and with an
    # argument the heap's block map.
    print("ID=%02x%02x%02x%02x:%02x%02x%02x%02x:%02x%02x%02x%02x" % tuple(unique_id()))
    idcode = mem32[_DBGMCU_IDCODE] if _mapped() else 0
    print("DEVID=0x%04x\nREVID=0x%04x" % (idcode & 0xFFF, idcode >> 16))
    print("S=%u\nH=%u\nP1=%u\nP2=%u" % freq())
    for name, addr in _LINK:
        print("%s=%x" % (name, addr))
    # The board's own names are in ROM; the core's names of the session
    # are not counted apart from the firmware's.
    print("qstr:\n  n_pool=0\n  n_qstr=0\n  n_str_data_bytes=0\n  n_total_bytes=0")
    free, used, ones, twos, biggest = _gc_info()
    print("GC:\n  %u total\n  %u : %u\n  1=%u 2=%u m=%u" % (free + used, used, free, ones, twos, biggest))
    st = _statvfs("/flash")
    print("LFS free: %u bytes" % (st[1] * st[3]))
    if dump is not None:
        _dump_map(_print_raw)


def _print_raw(text, n=-1):
    print(text if n < 0 else str(text[:n], "ascii"), end="")


def reset_cause():
    cause = _state["reset_cause"]
    return DEEPSLEEP_RESET if cause == HARD_RESET and _state["standby"] else cause


def woke_from_standby():
    # At a power-on or hard reset session's start (fw_onboard.power_on):
    # the standby flag says the reset was the wakeup from deepsleep; the
    # boot clears it (PWR_CR CSBF).
    _state["standby"] = _standby() == 1
    _standby(0)


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


_RTC_BASE = const(0x40002800)
_RTC_CR = const(0x08)
_RTC_WUTR = const(0x14)
_RTC_CALR = const(0x3C)
_WUTE = const(1 << 10)
_WUTIE = const(1 << 14)
_EXTI_RTC_WAKEUP = const(22)


def _rtc_read(off):
    return mem32[_RTC_BASE + off]


def _rtc_write(off, v):
    mem32[_RTC_BASE + off] = v


def _wakeup_registers(ms):
    # rtc.c: RTCCLK/16../2 for up to 32 s, else the 1 Hz clock (17 bits).
    div = 2
    wucksel = 3
    while div <= 16 and ms > 2000 * div:
        div *= 2
        wucksel -= 1
    if div <= 16:
        wut = 32768 // div * ms // 1000
    else:
        wucksel = 4
        wut = ms // 1000
        if wut > 0x10000:
            wucksel = 6
            wut -= 0x10000
            if wut > 0x10000:
                raise ValueError("wakeup value too large")
    return wucksel, wut - 1 if wut > 0 else wut


def _wakeup_us():
    # The wakeup timer's period from its registers (RM0090 26.3.6).
    wucksel = _rtc_read(_RTC_CR) & 7
    wut = _rtc_read(_RTC_WUTR) & 0xFFFF
    if wucksel < 4:
        return (wut + 1) * (16 >> wucksel) * 1000000 // 32768
    return (wut + 1 + (0x10000 if wucksel >= 6 else 0)) * 1000000


class RTC:
    # The board's RTC (ports/stm32/rtc.c): the host's clock plus an offset
    # kept in the register file, its registers in the backup domain.  The
    # weekday is kept as set, not worked out from the date.
    def __init__(self, id=0):
        pass

    def init(self):
        # A forced init resets the backup domain: the calendar restarts at
        # 2015-01-01 00:00:00 (a Thursday), calibration and wakeup off.
        self.datetime((2015, 1, 1, 4, 0, 0, 0, 0))
        _rtc_write(_RTC_CALR, 0)
        self.wakeup(None)

    def datetime(self, dt=None):
        if dt is None:
            secs, frac = divmod(_time_ns(), 1000000000)
            y, mo, d, h, mi, s, wd, _ = _gmtime(secs)
            # The subseconds are the RTC's down-counter, 255 to 0 (RTC_USE_US=0).
            return (y, mo, d, (wd + _rtc_weekday()) % 7 + 1, h, mi, s,
                    255 - frac * 256 // 1000000000)
        if len(dt) != 8:
            raise ValueError("requested length 8 but object has length %d" % len(dt))
        y, mo, d, wd, h, mi, s = dt[:7]
        secs = _mktime((y, mo, d, h, mi, s, 0, 0))
        # Setting the time restarts the second: it ticks a second from now.
        _set_rtc_offset(_rtc_offset() + secs * 1000000000 - _time_ns())
        _set_rtc_weekday((wd - 1 - _gmtime(secs)[6]) % 7)

    def calibration(self, cal=None):
        # Smooth calibration (RTC_CALR): +512 pulses with CALP, minus CALM,
        # per 32 s.  The register is kept; the clock's rate is the host's.
        if cal is None:
            calr = _rtc_read(_RTC_CALR)
            return 512 - (calr & 0x1FF) if calr & 0x8000 else -(calr & 0x1FF)
        if not -511 <= cal <= 512:
            raise ValueError("calibration value out of range")
        _rtc_write(_RTC_CALR, 0x8000 | (512 - cal) if cal > 0 else -cal)

    def wakeup(self, *args):
        # wakeup(ms[, callback]), wakeup(None), or wakeup(wucksel, wut,
        # callback): the wakeup timer's clock and reload as rtc.c sets them.
        callback = None
        if len(args) <= 2:
            ms = args[0]
            if len(args) == 2:
                callback = args[1]
            enable = ms is not None
            if enable:
                wucksel, wut = _wakeup_registers(ms)
        else:
            wucksel, wut, callback = args
            enable = True
        cr = _rtc_read(_RTC_CR) & ~(_WUTE | _WUTIE)
        if enable:
            _rtc_write(_RTC_WUTR, wut)
            cr = cr & ~7 | _WUTE | _WUTIE | wucksel & 7
        _rtc_write(_RTC_CR, cr)
        _wakeup.set(callback, _wakeup_us() if enable else 0)

    def __repr__(self):
        return "<RTC>"


class _Wakeup:
    # The RTC's periodic wakeup: EXTI line 22, a hard IRQ, and what ends a
    # light sleep.
    def __init__(self):
        self.irq = None

    def set(self, callback, period_us):
        # The host ticks it only for a callback: a light sleep keeps its
        # own time.
        if self.irq is None:
            self.irq = _Irq(None, 1, True, _EXTI_RTC_WAKEUP,
                            "ExtInt interrupt handler line %d" % _EXTI_RTC_WAKEUP)
        self.irq.handler = callback
        _run_every(_RTC_SLOT, self, period_us if callback is not None else 0)

    def _tick(self):
        _woken()
        self.irq.fire()


_wakeup = _Wakeup()


def lightsleep(ms=None):
    # Stop mode (modmachine.c): with ms, the RTC wakeup is set to it; the
    # board wakes at the wakeup timer's next event or a pin's (EXTI) IRQ.
    # Timers run on here (on a board their clocks stop).
    if ms is not None:
        RTC().wakeup(ms)
    seen = _wakes()
    end = None
    if _rtc_read(_RTC_CR) & _WUTE:
        end = _ticks_add(_ticks_ms(), _wakeup_us() // 1000)
    while _wakes() == seen:
        if end is not None and _ticks_diff(end, _ticks_ms()) <= 0:
            return
        _idle(10)


sleep = lightsleep


def deepsleep(ms=None):
    # Standby: nothing runs and the RAM is lost, until the RTC wakeup (or
    # a reset) boots the board again with DEEPSLEEP_RESET as the cause.
    if ms is not None:
        RTC().wakeup(ms)
    if _rtc_read(_RTC_CR) & _WUTE:
        _sleep_us(_wakeup_us())
    else:
        while True:
            _sleep_us(1000000000)
    _standby(1)
    raise HardReset()
