"""The board's hardware as the host models it: buses with attached device
models and UART ends (buses.py), pins the outside world drives, LEDs, ADC
inputs, DAC and servo outputs, timers.

It answers the firmware's side-channel requests (on the wire thread) and is
what `VirtualBoard.i2c(1)`, `.pin('X1')`, `.led(2)`... return views of.
"""
from __future__ import annotations

import fcntl
import os
import struct
import termios
import threading
import time
from array import array
from typing import Callable

from . import pins as pin_names
from . import side_channel as sc
from .buses import EIO, I2C_BUSES, I2C_MAX_READ, SPI_BUSES, UART_NAMES, UART_PINS, I2CBus, SPIBus, UARTPort
from .models.mma7660 import MMA7660
from .ratelimit import RateLimitedLog
from .regfile import (GPIO_AFR0, GPIO_BASE, GPIO_IDR, GPIO_MODER, GPIO_STRIDE, TIM5_BASE,
                      RegisterFile)

# A timer's callback runs at most 1000 times a second, however fast it is
# set: each tick crosses to the core and back (~50 us of two processes'
# time), and the host's poll counts milliseconds.  A faster timer's ticks
# are coalesced, as a busy MCU runs an IRQ once for several updates.
TIMER_MIN_PERIOD = 0.001
TIMER_SLOTS = 32  # fw_timer: 1..14 pyb.Timer, 16..31 machine.Timer
# Ticks wait while this much of earlier events is still unread: a core
# that can't keep up gets one tick where it missed several.
TICK_BACKLOG = 256


class Pin:
    """A board pin from outside: drive it, let go of it, read its level."""

    def __init__(self, hw: "Hardware", name: str) -> None:
        self._hw = hw
        self.name = name
        self.index = pin_names.index(name)

    def drive(self, level: int | bool) -> None:
        self._hw.drive(self.index, 1 if level else 0)

    def release(self) -> None:
        self._hw.drive(self.index, None)

    @property
    def value(self) -> int:
        return self._hw.level(self.index)

    def __repr__(self) -> str:
        return f"<pin {self.name} ({pin_names.cpu_name(self.index)}) = {self.value}>"


class Led:
    def __init__(self, hw: "Hardware", n: int) -> None:
        self._hw = hw
        self.n = n

    @property
    def intensity(self) -> int:
        return pin_names.led_intensity(self._hw.regs, self.n, self._hw.jumpers)

    @property
    def on(self) -> bool:
        return self.intensity > 0


class DacOutput:
    """What a DAC channel drives on its pin (X5, X6)."""

    def __init__(self, hw: "Hardware", channel: int) -> None:
        self._hw = hw
        self.channel = channel

    @property
    def value(self) -> int:
        """The 12-bit output code (an 8-bit write v reads v << 4)."""
        return self._hw.regs.dac(self.channel)[0]

    @property
    def wave(self) -> str | None:
        """'noise' or 'triangle' while the hardware generates one (DAC_CR
        WAVE; vpyb keeps the setting, not the wave)."""
        return {1: "noise", 2: "triangle"}.get(self._hw.regs.dac(self.channel)[1] >> 6 & 3)


class Hardware:
    def __init__(self, unique_id: bytes, log: Callable[[str], None]) -> None:
        self.regs = RegisterFile(unique_id)
        self.jumpers: dict[int, int] = {}
        self.i2c_buses: dict[tuple[int, int], I2CBus] = {}
        self.spi_buses: dict[int, SPIBus] = {}
        self.uarts = {n: UARTPort(self, n) for n in UART_PINS}
        self._events_fd: int | None = None
        self._lock = threading.Lock()
        self._timers: dict[int, tuple[float, bool, float]] = {}  # slot: period, oneshot, due
        self._backlog = array("i", [0])
        self.dropped_events = 0
        self.missed_ticks = 0
        # What the core gets wrong, said a few times, not per request.
        self.report = RateLimitedLog(log)
        self._closed = False
        self.accel = self.i2c(1).attach(76, MMA7660(), power="MMA_AVDD")

    # --- wiring --------------------------------------------------------
    def i2c(self, bus: int | str | None = None, *, scl: str | None = None,
            sda: str | None = None) -> I2CBus:
        if bus is not None:
            if bus not in I2C_BUSES:
                raise ValueError(f"I2C({bus}) doesn't exist")
            scl, sda = I2C_BUSES[bus]
        if scl is None or sda is None:
            raise ValueError("name a bus: i2c(1) or i2c(scl='X1', sda='X2')")
        key = (pin_names.index(scl), pin_names.index(sda))
        return self.i2c_buses.setdefault(key, I2CBus(self))

    def spi(self, bus: int | str | None = None, *, sck: str | None = None) -> SPIBus:
        if bus is not None:
            if bus not in SPI_BUSES:
                raise ValueError(f"SPI({bus}) doesn't exist")
            sck = SPI_BUSES[bus]
        if sck is None:
            raise ValueError("name a bus: spi(1) or spi(sck='X6')")
        return self.spi_buses.setdefault(pin_names.index(sck), SPIBus(self))

    def uart(self, unit: int | str) -> UARTPort:
        n = UART_NAMES.get(unit, unit) if isinstance(unit, str) else unit
        if n not in self.uarts:
            raise ValueError(f"UART({unit}) doesn't exist")
        return self.uarts[n]

    def jumper(self, a: str, b: str) -> None:
        """Wires two pins together, like a jumper wire between them."""
        pa, pb = pin_names.index(a), pin_names.index(b)
        self.jumpers[pa] = pb
        self.jumpers[pb] = pa
        pairs = sorted({(min(p), max(p)) for p in self.jumpers.items()})
        self.regs.set_jumpers(pairs)

    # --- pins ------------------------------------------------------------
    def level(self, pin: int) -> int:
        return pin_names.level(self.regs, pin, self.jumpers)

    def drive(self, pin: int, level: int | None) -> None:
        self.regs.drive(pin, level)
        self._refresh_idr(pin // 16)
        self.event(sc.EV_PIN, bytes((pin // 16,)))

    def _refresh_idr(self, port: int) -> None:
        self.regs.write32(GPIO_BASE + port * GPIO_STRIDE + GPIO_IDR,
                          pin_names.input_register(self.regs, port, self.jumpers))

    def dac(self, channel: int) -> DacOutput:
        if channel not in (1, 2):
            raise ValueError(f"DAC({channel}) doesn't exist")
        return DacOutput(self, channel)

    def servo_pulse_us(self, n: int) -> float | None:
        """Servo(n)'s pulse width on X1..X4 (TIM5's channel n), or None
        while the pin is not TIM5's (alternate function 2)."""
        if n not in (1, 2, 3, 4):
            raise ValueError(f"Servo({n}) doesn't exist")
        pin = n - 1  # X1..X4 are A0..A3
        moder = self.regs.gpio(0, GPIO_MODER) >> 2 * pin & 3
        afr = self.regs.gpio(0, GPIO_AFR0) >> 4 * pin & 15
        return self.regs.timer_pulse_us(TIM5_BASE, n) if moder == 2 and afr == 2 else None

    def set_adc(self, pin_or_channel: str | int, value: int) -> None:
        ch = pin_or_channel
        if isinstance(ch, str):
            cpu = pin_names.cpu_name(pin_names.index(ch))
            if cpu not in pin_names.ADC_CHANNELS:
                raise ValueError(f"Pin({cpu}) doesn't have ADC capabilities")
            ch = pin_names.ADC_CHANNELS[cpu]
        self.regs.set_adc(ch, value)

    # --- the core's side ---------------------------------------------------
    def core_started(self, events_fd: int, power_on: bool = True) -> None:
        """A new core: MCU state back to reset values (its registers too,
        unless a soft reset: the pins keep what they were set to)."""
        with self._lock:
            self._events_fd = events_fd
        if power_on:
            self.regs.power_on()
        self._timers.clear()
        for port in self.uarts.values():
            port.enabled = False

    def core_stopped(self) -> None:
        """The core is gone: its events fd is about to be closed (its number
        may be reused at once), and its timers stop.  Before the next
        session starts, the board's soft reset powers the accelerometer
        down (ports/stm32/main.c calls accel_init at every boot: MMA_AVDD an
        output, low); a power-on resets every pin anyway."""
        with self._lock:
            self._events_fd = None
        self._timers.clear()
        avdd = pin_names.index("MMA_AVDD")
        self.regs.set_output(avdd, 0)
        self._refresh_idr(avdd // 16)

    def event(self, kind: int, payload: bytes) -> None:
        with self._lock:
            if self._events_fd is None:
                return
            try:
                os.write(self._events_fd, sc.event(kind, payload))
            except (BlockingIOError, BrokenPipeError, OSError):
                self.dropped_events += 1  # the board is not taking events: lost, as an overrun

    def handle(self, kind: int, p: bytes) -> bytes | None:
        """Answers one firmware request (on the wire thread); its payload's
        size is the firmware's (side_channel.RequestReader checked it)."""
        try:
            return self._handle(kind, p)
        except sc.BadRequest as e:
            self.report(f"bad request from the core: {e}")
        except Exception as e:  # a model's bug must not take the board down
            self.report(f"peripheral model failed: {e!r}")
        return struct.pack("<BH", EIO, 0) if kind == sc.I2C_XFER else b""

    def _uart(self, unit: int) -> UARTPort:
        if unit not in self.uarts:
            raise sc.BadRequest(f"UART({unit}) doesn't exist")
        return self.uarts[unit]

    def _handle(self, kind: int, p: bytes) -> bytes | None:
        if kind == sc.I2C_XFER:
            nread = p[3] | (p[4] & 0x7F) << 8
            if nread > I2C_MAX_READ:
                raise sc.BadRequest(f"an I2C read of {nread} bytes")
            return self.i2c_buses.get((p[0], p[1]), I2CBus(self)).transfer(p[2], p[5:], nread)
        if kind == sc.I2C_SCAN:
            i2c = self.i2c_buses.get((p[0], p[1]))
            return i2c.scan() if i2c else b""
        if kind == sc.SPI_XFER:
            spi = self.spi_buses.get(p[0])
            return spi.transfer(p[1:]) if spi else b"\xff" * (len(p) - 1)
        if kind == sc.UART_WRITE:
            self._uart(p[0]).transmitted(p[1:])
            return b""
        if kind == sc.UART_INIT:
            port = self._uart(p[0])
            port.enabled = bool(p[4])
            port.baudrate = int.from_bytes(p[5:9], "little")
            return b""
        if kind == sc.PIN_CHANGED:
            for bus in self.spi_buses.values():
                bus._seen.update(pin for pin, _ in bus.devices if pin // 16 == p[0])
                bus.pin_changed(p[0], p[1] | p[2] << 8)
            return None
        if kind == sc.TIMER_SET:
            slot, oneshot, period_us = p[0], p[1], int.from_bytes(p[2:6], "little")
            if slot >= TIMER_SLOTS:
                raise sc.BadRequest(f"timer slot {slot}")
            if period_us:
                period = max(period_us / 1e6, TIMER_MIN_PERIOD)
                self._timers[slot] = (period, bool(oneshot), time.monotonic() + period)
            else:
                self._timers.pop(slot, None)
            return b""
        raise sc.BadRequest(f"unknown request kind {kind}")

    # --- timers (driven by the wire's poll loop) ---------------------------
    def next_timer(self) -> float | None:
        """Seconds until the next timer tick, or None."""
        if not self._timers:
            return None
        return max(0.0, min(due for _, _, due in self._timers.values()) - time.monotonic())

    def tick_timers(self) -> None:
        now = time.monotonic()
        for slot, (period, oneshot, due) in list(self._timers.items()):
            if due > now:
                continue
            if self._events_backlog() >= TICK_BACKLOG:
                # The core is behind: this tick joins the next one (a
                # one-shot's waits for it).
                self.missed_ticks += 1
                if oneshot:
                    self._timers[slot] = (period, oneshot, now + TIMER_MIN_PERIOD)
                    continue
            else:
                self.event(sc.EV_TIMER, bytes((slot,)))
                if oneshot:
                    del self._timers[slot]
                    continue
            # Late ticks are not made up, as a busy MCU misses IRQs.
            self._timers[slot] = (period, oneshot, due + period if due + period > now else now + period)

    def _events_backlog(self) -> int:
        # Bytes of events the core has not read yet (FIONREAD works on
        # either end of a pipe).
        with self._lock:
            if self._events_fd is None:
                return 0
            fcntl.ioctl(self._events_fd, termios.FIONREAD, self._backlog)
        return self._backlog[0]

    def close(self) -> None:
        if self._closed:  # a board stopped twice must not close fds twice
            return
        self._closed = True
        for port in self.uarts.values():
            if port.peer is not None:
                port.peer.close()
        self.regs.close()
