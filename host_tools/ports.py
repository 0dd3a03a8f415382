"""`vpyb ports`: real MicroPython boards on this host and running virtual
ones, one line each, with the port to pass to mpremote."""
from __future__ import annotations

from dataclasses import dataclass

from serial.tools import list_ports

from vpyb.device.registry import running_boards

# USB IDs of MicroPython boards (udev/49-micropython.rules names the same).
MICROPYTHON_IDS = {
    (0xF055, 0x9800): "Pyboard (VCP+MSC)",
    (0xF055, 0x9801): "Pyboard (VCP+HID)",
    (0xF055, 0x9802): "Pyboard (VCP)",
    (0xF055, 0x9803): "Pyboard (MSC)",
    (0x2E8A, 0x0005): "Raspberry Pi RP2 (MicroPython)",
    (0x303A, 0x4001): "ESP32-S2/S3 (MicroPython)",
}


@dataclass
class PortLine:
    port: str
    kind: str
    detail: str

    def __str__(self) -> str:
        return f"{self.port:<24} {self.kind:<8} {self.detail}"


def describe(info) -> PortLine | None:
    """A line for a pyserial ListPortInfo if it is a MicroPython board."""
    if info.vid is None:
        return None
    name = MICROPYTHON_IDS.get((info.vid, info.pid))
    if name is None and info.vid == 0xF055:
        name = "MicroPython board"
    if name is None and "micropython" not in (info.manufacturer or "").lower():
        return None
    detail = f"{name or info.product or 'MicroPython board'} {info.vid:04x}:{info.pid:04x}"
    if info.serial_number:
        detail += f" serial {info.serial_number}"
    return PortLine(info.device, "real", detail)


def all_ports() -> list[PortLine]:
    lines = [line for info in list_ports.comports() if (line := describe(info))]
    for b in running_boards():
        lines.append(PortLine(b.port, "virtual", f"vpyb pid {b.pid}, state {b.state_dir}"))
        lines.extend(PortLine(url, "virtual", f"vpyb pid {b.pid}, network endpoint of {b.port}")
                     for url in b.urls)
    return lines


def first_port() -> str | None:
    """The board a command talks to when none is named: the first virtual
    one vpyb started, else the first real one."""
    found = sorted(all_ports(), key=lambda p: p.kind != "virtual")
    return found[0].port if found else None


def main() -> int:
    lines = all_ports()
    if not lines:
        print("no MicroPython boards found (start one with `vpyb`)")
    for line in lines:
        print(line)
    return 0
