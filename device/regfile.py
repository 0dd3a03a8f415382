"""The board's register file: memory shared by the core and the host.

The core maps it at the STM32F405's own addresses (so `stm.GPIOA` and a
viper `ptr16` reach it as on hardware); the host maps the same pages and sees
every write at once (LEDs, output pins) and writes what the outside world
drives (input levels, ADC values).  Layout is mirrored in firmware/fw_regs.py
(tests/test_hardware.py checks the two agree).
"""
from __future__ import annotations

import mmap
import os
import struct
import tempfile

# (core address, size) of each modelled MCU region, in file order.
REGIONS = (
    (0x40000000, 0x80000),  # APB1, APB2, AHB1: timers, UARTs, GPIO, RCC, backup SRAM
    (0x50000000, 0x61000),  # AHB2: USB OTG FS, RNG
    (0x1FFF7000, 0x1000),   # system memory: OTP, unique ID, flash size
    (0xE0042000, 0x1000),   # DBGMCU
)
PRIVATE_SIZE = 0x1000  # vpyb's own page: what no MCU register holds
MCU_SIZE = sum(size for _, size in REGIONS)
FILE_SIZE = MCU_SIZE + PRIVATE_SIZE

GPIO_BASE = 0x40020000
GPIO_STRIDE = 0x400
GPIO_MODER, GPIO_OTYPER, GPIO_PUPDR, GPIO_IDR, GPIO_ODR = 0x00, 0x04, 0x0C, 0x10, 0x14
GPIO_AFR0 = 0x20
PORTS = 9  # A..I
UID_ADDR = 0x1FFF7A10
# The RTC's registers are in the backup domain (kept by VBAT across resets,
# like the RTC's setting), initialised once with the LSE's prescalers.
RTC_BASE = 0x40002800
RTC_SIZE = 0x400
RTC_PRER, RTC_WUTR = 0x10, 0x14
FLASH_SIZE_ADDR = 0x1FFF7A22
DBGMCU_IDCODE = 0xE0042000
DAC_BASE, DAC_DOR1 = 0x40007400, 0x2C
TIM5_BASE, TIM_PSC, TIM_CCR1 = 0x40000C00, 0x28, 0x34

# Offsets in the private page.
P_EXT_LEVEL = 0x10   # u16[PORTS]: level the outside world drives on each pin
P_EXT_DRIVEN = 0x30  # u16[PORTS]: which pins the outside world drives
P_JUMPERS = 0x50     # u8[32][2]: wired pin pairs (pin index = port*16+pin), 0xFF ends
P_LED = 0x90         # u8[4]: LED intensity 0..255
P_ADC = 0xA0         # u16[19]: 12-bit ADC reading of each channel
P_WATCH = 0xD0       # u16[PORTS]: output pins whose changes the firmware reports
P_RTC = 0xF0         # i64: nanoseconds the board's RTC runs ahead of the host's clock
P_RTC_WEEKDAY = 0xF8  # u8: days the RTC's weekday runs ahead of the date's (it keeps what is set)
P_STANDBY = 0xF9     # u8: 1 while the board is in standby (PWR_CSR SBF): the next boot's cause
MAX_JUMPERS = 32
ADC_CHANNELS = 19

# GPIO reset values (RM0090 8.4): PA13-15 and PB3/4 are the debug port.
_GPIO_RESET = {0: (0xA8000000, 0x64000000), 1: (0x00000280, 0x00000100)}  # MODER, PUPDR
# Internal ADC channels read as a board on a desk: ~25 C, VREFINT 1.21 V, VBAT/2 of 3.3 V.
_ADC_DEFAULTS = {16: 943, 17: 1501, 18: 2047}
# The factory calibration in system memory (RM0090 / the F405 datasheet,
# ports/stm32/adc.c): VREFINT read at VDDA = 3.3 V (what the default channel
# 17 reads, 1.21 V), the temperature sensor at 30 C and 110 C (0.76 V at
# 25 C, 2.5 mV/C).
ADC_CALIBRATION = {0x1FFF7A2A: 1501, 0x1FFF7A2C: 959, 0x1FFF7A2E: 1207}


def _offset(addr: int) -> int:
    off = 0
    for base, size in REGIONS:
        if base <= addr < base + size:
            return off + addr - base
        off += size
    raise ValueError(f"address 0x{addr:08x} is not modelled")


class RegisterView:
    """Reads of the shared pages.  Built on its own, a read-only view of a
    running board's pages from another process (the console's toolbar)."""

    mem: mmap.mmap

    def __init__(self, path: str) -> None:
        with open(path, "rb") as f:
            self.mem = mmap.mmap(f.fileno(), FILE_SIZE, access=mmap.ACCESS_READ)

    def close(self) -> None:
        self.mem.close()

    def read32(self, addr: int) -> int:
        return struct.unpack_from("<I", self.mem, _offset(addr))[0]

    def gpio(self, port: int, reg: int) -> int:
        return self.read32(GPIO_BASE + port * GPIO_STRIDE + reg)

    def _p16(self, off: int, index: int) -> int:
        return struct.unpack_from("<H", self.mem, MCU_SIZE + off + 2 * index)[0]

    def ext(self, pin: int) -> int | None:
        port, bit = divmod(pin, 16)
        if not self._p16(P_EXT_DRIVEN, port) >> bit & 1:
            return None
        return self._p16(P_EXT_LEVEL, port) >> bit & 1

    def jumpers(self) -> dict[int, int]:
        table = self.mem[MCU_SIZE + P_JUMPERS:MCU_SIZE + P_JUMPERS + 2 * MAX_JUMPERS]
        wired: dict[int, int] = {}
        for a, b in zip(table[::2], table[1::2]):
            if a == 0xFF:
                break
            wired[a], wired[b] = b, a
        return wired

    def led_intensity(self, n: int) -> int:
        return self.mem[MCU_SIZE + P_LED + n - 1]

    def adc(self, channel: int) -> int:
        return self._p16(P_ADC, channel)

    def dac(self, channel: int) -> tuple[int, int]:
        """DAC channel 1 or 2: its output (DAC_DORx, 12 bits) and its
        fields of DAC_CR (enable, trigger, wave generation...)."""
        return (self.read32(DAC_BASE + DAC_DOR1 + 4 * (channel - 1)),
                self.read32(DAC_BASE) >> 16 * (channel - 1) & 0xFFFF)

    def timer_pulse_us(self, base: int, channel: int) -> float:
        """A timer channel's PWM pulse width: CCRx ticks of the prescaled
        clock (TIM_PSC, 84 MHz on APB1's timers)."""
        ticks = self.read32(base + TIM_CCR1 + 4 * (channel - 1))
        return ticks * (self.read32(base + TIM_PSC) + 1) / 84


class RegisterFile(RegisterView):
    """The board's own pages (one per board, kept across resets)."""

    def __init__(self, unique_id: bytes) -> None:
        if hasattr(os, "memfd_create"):
            self.fd = os.memfd_create("vpyb-regs")
        else:
            tmp = tempfile.TemporaryFile()
            self.fd = os.dup(tmp.fileno())
            tmp.close()
        os.ftruncate(self.fd, FILE_SIZE)
        self.mem = mmap.mmap(self.fd, FILE_SIZE)
        # Where another process of this user can map the same pages.
        proc = f"/proc/{os.getpid()}/fd/{self.fd}"
        self.path: str | None = proc if os.path.exists(proc) else None
        self.unique_id = unique_id
        for ch, value in _ADC_DEFAULTS.items():
            self.set_adc(ch, value)
        self.set_jumpers([])
        self.power_on()
        self.write32(RTC_BASE + RTC_PRER, 0x007F00FF)  # rtc.c RTC_ASYNCH_PREDIV, RTC_SYNCH_PREDIV
        self.write32(RTC_BASE + RTC_WUTR, 0xFFFF)  # its reset value

    def close(self) -> None:
        self.mem.close()
        os.close(self.fd)

    def power_on(self) -> None:
        """MCU registers to their reset values; the outside world and the
        backup domain (the RTC) are kept."""
        rtc = _offset(RTC_BASE)
        backup = self.mem[rtc:rtc + RTC_SIZE]
        self.mem[:MCU_SIZE] = bytes(MCU_SIZE)
        self.mem[rtc:rtc + RTC_SIZE] = backup
        for port, (moder, pupdr) in _GPIO_RESET.items():
            self.write32(GPIO_BASE + port * GPIO_STRIDE + GPIO_MODER, moder)
            self.write32(GPIO_BASE + port * GPIO_STRIDE + GPIO_PUPDR, pupdr)
        self.mem[_offset(UID_ADDR):_offset(UID_ADDR) + 12] = self.unique_id
        self.write16(FLASH_SIZE_ADDR, 1024)  # KiB
        self.write32(DBGMCU_IDCODE, 0x10070413)  # REV_ID 0x1007 (revision 2), DEV_ID 0x413: the F405
        for addr, value in ADC_CALIBRATION.items():
            self.write16(addr, value)
        self.mem[MCU_SIZE + P_LED:MCU_SIZE + P_LED + 4] = bytes(4)

    def write32(self, addr: int, value: int) -> None:
        struct.pack_into("<I", self.mem, _offset(addr), value)

    def write16(self, addr: int, value: int) -> None:
        struct.pack_into("<H", self.mem, _offset(addr), value)

    def _set16(self, off: int, index: int, value: int) -> None:
        struct.pack_into("<H", self.mem, MCU_SIZE + off + 2 * index, value)

    def drive(self, pin: int, level: int | None) -> None:
        """The outside world drives `pin` to level (None: lets go of it)."""
        port, bit = divmod(pin, 16)
        driven = self._p16(P_EXT_DRIVEN, port)
        levels = self._p16(P_EXT_LEVEL, port)
        if level is None:
            driven &= ~(1 << bit)
        else:
            driven |= 1 << bit
            levels = levels | (1 << bit) if level else levels & ~(1 << bit)
        self._set16(P_EXT_LEVEL, port, levels)
        self._set16(P_EXT_DRIVEN, port, driven)

    def set_output(self, pin: int, level: int) -> None:
        """What the firmware does to make `pin` a push-pull output at level."""
        base = GPIO_BASE + pin // 16 * GPIO_STRIDE
        bit = pin % 16
        moder = self.read32(base + GPIO_MODER) & ~(3 << 2 * bit) | 1 << 2 * bit
        odr = self.read32(base + GPIO_ODR) & ~(1 << bit) | level << bit
        self.write32(base + GPIO_ODR, odr)
        self.write32(base + GPIO_OTYPER, self.read32(base + GPIO_OTYPER) & ~(1 << bit))
        self.write32(base + GPIO_MODER, moder)

    def watch(self, pin: int) -> None:
        port, bit = divmod(pin, 16)
        self._set16(P_WATCH, port, self._p16(P_WATCH, port) | 1 << bit)

    def set_jumpers(self, pairs: list[tuple[int, int]]) -> None:
        if len(pairs) > MAX_JUMPERS:
            raise ValueError(f"at most {MAX_JUMPERS} jumpers")
        table = bytearray(b"\xff" * 2 * MAX_JUMPERS)
        for i, (a, b) in enumerate(pairs):
            table[2 * i:2 * i + 2] = bytes((a, b))
        self.mem[MCU_SIZE + P_JUMPERS:MCU_SIZE + P_JUMPERS + len(table)] = bytes(table)

    def set_adc(self, channel: int, value: int) -> None:
        if not 0 <= value <= 4095:
            raise ValueError("an ADC reading is 12 bits: 0..4095")
        self._set16(P_ADC, channel, value)
