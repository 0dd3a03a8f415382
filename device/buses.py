"""The board's buses as the host models them: an I2C or SPI bus and the
device models attached to it, a UART's far end.  Hardware (hardware.py)
routes the firmware's requests to them."""
from __future__ import annotations

import struct
from typing import TYPE_CHECKING

from . import pins as pin_names
from . import side_channel as sc
from .models.base import I2CDevice, I2CNack, I2CTimeout, SPIDevice, UARTPeer

if TYPE_CHECKING:
    from .hardware import Hardware

ENODEV, ETIMEDOUT, EIO = 19, 110, 5
I2C_BUSES = {1: ("B6", "B7"), 2: ("B10", "B11"), "X": ("B6", "B7"), "Y": ("B10", "B11")}
SPI_BUSES = {1: "A5", 2: "B13", "X": "A5", "Y": "B13"}
UART_PINS = {1: ("B6", "B7"), 2: ("A2", "A3"), 3: ("B10", "B11"), 4: ("A0", "A1"), 6: ("C6", "C7")}
UART_NAMES = {"XA": 4, "XB": 1, "YA": 6, "YB": 3}
I2C_MAX_READ = sc.MAX_PAYLOAD - 3  # the reply: error, u16 bytes ACKed, data


class I2CBus:
    """An I2C bus (named by its SCL/SDA pins) and the devices on it."""

    def __init__(self, hw: "Hardware") -> None:
        self._hw = hw
        self.devices: dict[int, I2CDevice] = {}
        self._power: dict[int, int] = {}
        self.stuck = False  # fault: every transfer times out

    def attach(self, addr: int, device: I2CDevice, power: str | None = None) -> I2CDevice:
        """Puts a device at addr; with `power`, it answers only while that pin is high."""
        if not 0 <= addr <= 0x7F:
            raise ValueError("an I2C address is 7 bits")
        self.devices[addr] = device
        if power:
            self._power[addr] = pin_names.index(power)
        return device

    def detach(self, addr: int) -> None:
        self.devices.pop(addr, None)
        self._power.pop(addr, None)

    def present(self, addr: int) -> I2CDevice | None:
        dev = self.devices.get(addr)
        power = self._power.get(addr)
        if dev is not None and power is not None and not self._hw.level(power):
            return None
        return dev

    def scan(self) -> bytes:
        return bytes(a for a in range(0x08, 0x78) if self.present(a) is not None)

    def transfer(self, addr: int, data: bytes, nread: int) -> bytes:
        if self.stuck:
            return struct.pack("<BH", ETIMEDOUT, 0)
        dev = self.present(addr)
        if dev is None:
            return struct.pack("<BH", ENODEV, 0)
        try:
            acked = dev.write(data) if data else 0
            got = dev.read(nread) if nread else b""
        except I2CNack:
            return struct.pack("<BH", ENODEV, 0)
        except I2CTimeout:
            return struct.pack("<BH", ETIMEDOUT, 0)
        return struct.pack("<BH", 0, acked) + bytes(got[:nread]).ljust(nread, b"\xff")


class SPIBus:
    """An SPI bus (named by its SCK pin); each device has a chip-select pin."""

    def __init__(self, hw: "Hardware") -> None:
        self._hw = hw
        self.devices: list[tuple[int, SPIDevice]] = []
        self._selected: set[int] = set()
        self._seen: set[int] = set()

    def attach(self, device: SPIDevice, cs: str) -> SPIDevice:
        pin = pin_names.index(cs)
        self.devices.append((pin, device))
        self._hw.regs.watch(pin)
        return device

    def pin_changed(self, port: int, odr: int) -> None:
        # The ODR value the firmware reported: CS edges in the order they came
        # (the live register may already be further on).
        for pin, dev in self.devices:
            if pin // 16 == port:
                self._set_cs(pin, dev, odr >> (pin % 16) & 1)

    def _set_cs(self, pin: int, dev: SPIDevice, level: int) -> None:
        if not level and pin not in self._selected:
            self._selected.add(pin)
            dev.select()
        elif level and pin in self._selected:
            self._selected.discard(pin)
            dev.deselect()

    def transfer(self, data: bytes) -> bytes:
        out = b"\xff" * len(data)
        for pin, dev in self.devices:
            if pin not in self._seen:  # CS set before the device was attached
                self._seen.add(pin)
                self._set_cs(pin, dev, self._hw.level(pin))
            if pin in self._selected:
                out = bytes(dev.transfer(data))[:len(data)].ljust(len(data), b"\xff")
        return out


class UARTPort:
    """A board UART's far end: `peer` is the model or bridge wired to it."""

    def __init__(self, hw: "Hardware", unit: int) -> None:
        self._hw = hw
        self.unit = unit
        self.tx, self.rx = (pin_names.index(p) for p in UART_PINS[unit])
        self.enabled = False
        self.baudrate = 0
        self._peer: UARTPeer | None = None
        self.sent = bytearray()  # everything the board transmitted (for tests)

    @property
    def peer(self) -> UARTPeer | None:
        return self._peer

    @peer.setter
    def peer(self, peer: UARTPeer | None) -> None:
        if self._peer is not None:
            self._peer.attached(lambda data: None)
        self._peer = peer
        if peer is not None:
            peer.attached(self.send)

    def send(self, data: bytes) -> None:
        """Bytes arriving at the board's RX (dropped while it is not enabled)."""
        if self.enabled:
            step = sc.MAX_PAYLOAD - 1
            for at in range(0, len(data), step):
                self._hw.event(sc.EV_UART, bytes((self.unit,)) + data[at:at + step])

    def transmitted(self, data: bytes) -> None:
        self.sent += data
        if self._peer is not None:
            self._peer.receive(data)
        for port in self._hw.uarts.values():  # a jumper from our TX to a UART's RX
            if self._hw.jumpers.get(self.tx) == port.rx:
                port.send(data)
