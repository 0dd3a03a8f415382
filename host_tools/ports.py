"""`vpyb ports`: real MicroPython boards on this host, boards in DFU mode
(no serial port: found on the USB bus through pyusb) and running virtual
ones, one line each, with the port to pass to mpremote; `--json` for scripts.

Also the rule a command follows when it is given no port: take the one
board running, say which and why, and never guess among several."""
from __future__ import annotations

import errno
import json
import logging
import os
import sys
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Callable

import serial
from serial.tools import list_ports

from vpyb.device.flash import _lock_holder as lock_holder  # /proc/locks, as for a flash image
from vpyb.device.registry import running_boards

if TYPE_CHECKING:
    from usb.backend import IBackend

log = logging.getLogger(__name__)

# USB IDs of MicroPython boards (udev/49-micropython.rules names the same).
MICROPYTHON_IDS = {
    (0xF055, 0x9800): "Pyboard (VCP+MSC)",
    (0xF055, 0x9801): "Pyboard (VCP+HID)",
    (0xF055, 0x9802): "Pyboard (VCP)",
    (0xF055, 0x9803): "Pyboard (MSC)",
    (0x2E8A, 0x0005): "Raspberry Pi RP2 (MicroPython)",
    (0x303A, 0x4001): "ESP32-S2/S3 (MicroPython)",
}
# The STM32's ROM bootloader in DFU mode (a Pyboard started with BOOT0 held,
# or after machine.bootloader()): a USB device with no serial port.
DFU_ID = (0x0483, 0xDF11)
NO_LIBUSB = ("no libusb found, so boards in DFU mode (USB 0483:df11) are not listed: "
             "pip install libusb-package, or install your system's libusb-1.0")


@dataclass
class PortLine:
    port: str
    kind: str  # "real", "dfu" (a board in DFU mode, no serial port) or "virtual"
    detail: str
    usb_id: str | None = None  # "f055:9800"
    serial_number: str | None = None
    vpyb_pid: int | None = None  # a virtual board's host process
    state_dir: str | None = None

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
    usb_id = f"{info.vid:04x}:{info.pid:04x}"
    detail = f"{name or info.product or 'MicroPython board'} {usb_id}"
    if info.serial_number:
        detail += f" serial {info.serial_number}"
    return PortLine(info.device, "real", detail, usb_id, info.serial_number)


def usb_backend() -> IBackend | None:
    """pyusb's libusb 1.0 backend: the libusb that libusb-package bundles,
    else the system's; None when there is neither."""
    import usb.backend.libusb1

    find_library: Callable[[str], str | None] | None
    try:
        from libusb_package import find_library
    except ImportError:  # a Python without libusb-package (a distribution's): the system's libusb
        find_library = None
    return usb.backend.libusb1.get_backend(find_library=find_library)


def dfu_boards(backend: IBackend) -> list[PortLine]:
    """Boards in DFU mode on the USB bus, named by their bus-port path
    (what `dfu-util -p` takes)."""
    import usb.core

    lines = []
    for dev in usb.core.find(find_all=True, idVendor=DFU_ID[0], idProduct=DFU_ID[1], backend=backend):
        ports = ".".join(map(str, dev.port_numbers or ()))
        path = f"{dev.bus}-{ports}" if ports else f"{dev.bus}:{dev.address}"
        usb_id = f"{dev.idVendor:04x}:{dev.idProduct:04x}"
        serial = _serial_number(dev)
        detail = f"STM32 in DFU mode {usb_id}" + (f" serial {serial}" if serial else "")
        detail += f": no serial port; flash it with dfu-util -d {usb_id} -p {path}"
        lines.append(PortLine(f"usb:{path}", "dfu", detail, usb_id, serial))
    return lines


def _serial_number(dev) -> str | None:
    # Reading a string descriptor opens the device: without the udev rule's
    # access (or on a busy device) the board is listed without it.
    import usb.core

    if not dev.iSerialNumber:
        return None
    try:
        return dev.serial_number
    except (usb.core.USBError, ValueError, NotImplementedError) as e:
        log.debug("no serial number for USB %s:%s: %s", dev.bus, dev.address, e)
        return None


def serial_boards() -> list[PortLine]:
    """Real boards and running virtual ones: the ports a command can talk to."""
    lines = [line for info in list_ports.comports() if (line := describe(info))]
    lines.extend(PortLine(b.port, "virtual", f"vpyb pid {b.pid}, state {b.state_dir}",
                          vpyb_pid=b.pid, state_dir=b.state_dir) for b in running_boards())
    return lines


def network_endpoints() -> list[PortLine]:
    """The socket:// and rfc2217:// URLs of running virtual boards."""
    return [PortLine(url, "virtual", f"vpyb pid {b.pid}, network endpoint of {b.port}",
                     vpyb_pid=b.pid, state_dir=b.state_dir)
            for b in running_boards() for url in b.urls]


class NoBoardChosen(Exception):
    """No port was named and there is not exactly one board to take."""


def choose_port() -> tuple[str, str]:
    """The board a command talks to when no port is named, and why it is that
    one: the only board running (real or virtual: the registry holds only
    this user's).  With none or several, NoBoardChosen says so and lists them:
    a guess could be another test's or another session's board."""
    boards = serial_boards()
    if not boards:
        raise NoBoardChosen("no board found; start one with `vpyb` or name a port")
    if len(boards) > 1:
        raise NoBoardChosen(f"{len(boards)} boards are running; name the port of one:\n"
                            + "\n".join(f"  {line}" for line in boards))
    return boards[0].port, f"using {boards[0].port}, the only board running ({boards[0].detail})"


def port_to_use(port: str | None, command: str) -> str | None:
    """The named port, else the one board running (said on stderr, with
    why); None, with the reason on stderr, when there is no single board."""
    if port is not None:
        return port
    try:
        port, why = choose_port()
    except NoBoardChosen as e:
        print(f"{command}: {e}", file=sys.stderr)
        return None
    print(f"{command}: {why}", file=sys.stderr)
    return port


class PortInUse(OSError):
    """Another program holds the port's exclusive lock."""


def open_exclusive(port: str, timeout: float = 10.0) -> serial.SerialBase:
    """Opens a port (device or pyserial URL) for this tool alone, as mpremote
    does: pyserial's exclusive open takes flock(LOCK_EX | LOCK_NB) on the
    device, so mpremote, another console or a second tool is refused while
    this one holds it, and this one is refused (PortInUse) while another
    does.  A network endpoint takes one client at a time by itself."""
    try:
        return serial.serial_for_url(port, baudrate=115200, timeout=timeout, exclusive=True)
    except serial.SerialException as e:
        if e.errno not in (errno.EAGAIN, errno.EWOULDBLOCK):
            raise
    raise PortInUse(f"{port} is in use by {_lock_holder_of(port)}; close that first")


def _lock_holder_of(path: str) -> str:
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOCTTY | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError:
        return "another program"
    try:
        pid = lock_holder(fd)
    finally:
        os.close(fd)
    if pid is None:
        return "another program"
    try:
        argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        command = " ".join(a.decode(errors="replace") for a in argv if a)
    except OSError:
        command = ""
    return f"pid {pid} ({command[:60]})" if command else f"pid {pid}"


def main(as_json: bool = False) -> int:
    lines = serial_boards()
    backend = usb_backend()
    if backend is None:  # on stderr: the JSON on stdout stays whole
        print(f"vpyb ports: {NO_LIBUSB}", file=sys.stderr)
    else:
        lines.extend(dfu_boards(backend))
    lines.extend(network_endpoints())
    if as_json:
        print(json.dumps([asdict(line) for line in lines], indent=2))
        return 0
    for line in lines:
        print(line)
    if not lines:
        print("no MicroPython boards found (start one with `vpyb`)")
    return 0
