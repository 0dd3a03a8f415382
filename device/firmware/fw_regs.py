# The register file: the MCU's peripheral pages, mapped by the host at their
# real addresses (device/regfile.py has the same layout), and vpyb's private
# page of what the outside world drives.  Pins are numbered port*16+pin.
import uctypes
from micropython import const

GPIO_BASE = const(0x40020000)
_STRIDE = const(0x400)
_MODER = const(0x00)
_OTYPER = const(0x04)
_PUPDR = const(0x0C)
_IDR = const(0x10)
_ODR = const(0x14)
_AFR0 = const(0x20)
_PORTS = const(9)
_MAX_JUMPERS = const(32)

# Offsets in the private page (device/regfile.py P_*).
_P_EXT_LEVEL = const(0x10)
_P_EXT_DRIVEN = const(0x30)
_P_JUMPERS = const(0x50)
_P_LED = const(0x90)
_P_ADC = const(0xA0)
_P_WATCH = const(0xD0)
_P_RTC = const(0xF0)
_P_RTC_WEEKDAY = const(0xF8)
_P_STANDBY = const(0xF9)

# (base, size) of the modelled MCU regions, as device/regfile.py REGIONS.
REGIONS = ((0x40000000, 0x80000), (0x50000000, 0x61000), (0x1FFF7000, 0x1000), (0xE0042000, 0x1000))

_u32 = uctypes.UINT32
_u16 = uctypes.UINT16
gpio = None  # u32 view of the GPIO ports' registers
priv8 = None
priv16 = None
_rtc_ns = None  # the private page's i64 RTC offset


def init(private_addr):
    global gpio, priv8, priv16, _rtc_ns
    gpio = view(GPIO_BASE, _u32, _PORTS * _STRIDE // 4)
    priv8 = view(private_addr, uctypes.UINT8, 4096)
    priv16 = view(private_addr, _u16, 2048)
    _rtc_ns = view(private_addr + _P_RTC, uctypes.INT64, 1)


def mapped():
    # False on a core without the register file (--micropython binaries).
    return gpio is not None


def view(addr, kind, n):
    # An array view of memory: indexing reads and writes it, allocating nothing.
    return uctypes.struct(addr, {"a": (uctypes.ARRAY | 0, kind | n)}).a


def mem16(addr):
    # A half-word of a modelled region (a calibration value in system memory).
    return view(addr, _u16, 1)[0]


def modelled(addr):
    for base, size in REGIONS:
        if base <= addr < base + size:
            return True
    return False


# --- GPIO -------------------------------------------------------------
def reg(port, off):
    return gpio[(port * _STRIDE + off) >> 2]


def set_reg(port, off, v):
    gpio[(port * _STRIDE + off) >> 2] = v


def field2(pin, off):
    # A 2-bit field (MODER, PUPDR) of a pin.
    return reg(pin >> 4, off) >> ((pin & 15) * 2) & 3


def set_field2(pin, off, v):
    port = pin >> 4
    sh = (pin & 15) * 2
    set_reg(port, off, reg(port, off) & ~(3 << sh) | (v << sh))


def otype(pin):
    return reg(pin >> 4, _OTYPER) >> (pin & 15) & 1


def set_otype(pin, v):
    port = pin >> 4
    b = 1 << (pin & 15)
    set_reg(port, _OTYPER, reg(port, _OTYPER) & ~b | (b if v else 0))


def af(pin):
    port = pin >> 4
    sh = (pin & 7) * 4
    return reg(port, _AFR0 + (pin & 8) // 2) >> sh & 15


def set_af(pin, v):
    port = pin >> 4
    off = _AFR0 + (pin & 8) // 2
    sh = (pin & 7) * 4
    set_reg(port, off, reg(port, off) & ~(15 << sh) | (v << sh))


def odr(pin):
    return reg(pin >> 4, _ODR) >> (pin & 15) & 1


def jumpered(pin):
    # The pin wired to `pin`, or -1.
    p8 = priv8
    for i in range(_P_JUMPERS, _P_JUMPERS + 2 * _MAX_JUMPERS, 2):
        a = p8[i]
        if a == 0xFF:
            return -1
        if a == pin:
            return p8[i + 1]
        if p8[i + 1] == pin:
            return a
    return -1


def _drives(pin):
    # Does the pin itself drive its line?  Outputs do, and so does an
    # alternate function pin (a UART TX idles high).
    m = field2(pin, _MODER)
    return m == 1 or m == 2


def level(pin):
    # The level on the pin's line, as its input register would read it.
    if _drives(pin) and not (otype(pin) and odr(pin)):
        return odr(pin)
    port = pin >> 4
    b = pin & 15
    if priv16[(_P_EXT_DRIVEN >> 1) + port] >> b & 1:
        return priv16[(_P_EXT_LEVEL >> 1) + port] >> b & 1
    j = jumpered(pin)
    if j >= 0 and _drives(j):
        return odr(j)
    return 0 if field2(pin, _PUPDR) == 2 else 1 if field2(pin, _PUPDR) == 1 or _drives(pin) else 0


def refresh_idr(port):
    v = 0
    base = port * 16
    for b in range(16):
        v |= level(base + b) << b
    set_reg(port, _IDR, v)


def watched(port):
    return priv16[(_P_WATCH >> 1) + port]


# --- the private page's other fields ------------------------------------
def set_led(n, intensity):
    priv8[_P_LED + n - 1] = intensity


def led(n):
    return priv8[_P_LED + n - 1]


def adc(channel):
    return priv16[(_P_ADC >> 1) + channel]


# Nanoseconds the board's RTC runs ahead of the host's clock, and days its
# weekday runs ahead of its date's: kept in the register file, so they last
# across resets like the RTC's own domain (VBAT).
_rtc_alone = [0, 0]  # a core without the register file keeps them for its session


def rtc_offset():
    return _rtc_alone[0] if _rtc_ns is None else _rtc_ns[0]


def set_rtc_offset(ns):
    if _rtc_ns is None:
        _rtc_alone[0] = ns
    else:
        _rtc_ns[0] = ns


def rtc_weekday():
    return _rtc_alone[1] if priv8 is None else priv8[_P_RTC_WEEKDAY]


def set_rtc_weekday(days):
    if priv8 is None:
        _rtc_alone[1] = days
    else:
        priv8[_P_RTC_WEEKDAY] = days


def standby(v=None):
    # The standby flag (PWR_CSR SBF): set when the board goes to standby,
    # read and cleared by the boot that follows.
    if v is None:
        return priv8[_P_STANDBY] if priv8 is not None else 0
    if priv8 is not None:
        priv8[_P_STANDBY] = v
