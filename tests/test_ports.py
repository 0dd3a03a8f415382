"""`vpyb ports` and the udev rules."""
import json
import subprocess
import sys
from pathlib import Path

from serial.tools.list_ports_common import ListPortInfo

from vpyb.host_tools.ports import DFU_ID, describe

RULES = Path(__file__).parent.parent / "udev" / "49-micropython.rules"


def vpyb(*args: str) -> str:
    return subprocess.run([sys.executable, "-m", "vpyb.host_tools.cli", *args],
                          capture_output=True, text=True, check=True, timeout=30).stdout


def test_running_virtual_boards_are_listed_until_they_stop(start_board):
    b = start_board("--ephemeral")
    line = next(l for l in vpyb("ports").splitlines() if l.startswith(b.port + " "))
    assert "virtual" in line and f"pid {b.proc.pid}" in line
    b.stop()
    assert b.port + " " not in vpyb("ports")


def test_ports_json_lists_the_board_and_its_endpoints(start_board):
    b = start_board("--ephemeral", "--tcp", "0")
    records = json.loads(vpyb("ports", "--json"))
    mine = [r for r in records if r["vpyb_pid"] == b.proc.pid]
    assert [(r["port"], r["kind"]) for r in mine] == [(b.port, "virtual"),
                                                     (mine[1]["port"], "virtual")]
    assert mine[1]["port"].startswith("socket://127.0.0.1:")
    assert mine[0]["state_dir"] and mine[0]["usb_id"] is None
    assert set(mine[0]) == {"port", "kind", "detail", "usb_id", "serial_number", "vpyb_pid", "state_dir"}


def test_real_boards_are_recognised_by_usb_id():
    # pyserial's own record of a port, filled as its Linux scanner would.
    pyb = ListPortInfo("/dev/ttyACM0")
    pyb.vid, pyb.pid, pyb.serial_number = 0xF055, 0x9800, "3276385A3234"
    line = describe(pyb)
    assert line.port == "/dev/ttyACM0" and line.kind == "real"
    assert "Pyboard" in line.detail and "f055:9800" in line.detail
    other = ListPortInfo("/dev/ttyUSB0")
    other.vid, other.pid, other.manufacturer = 0x0403, 0x6001, "FTDI"
    assert describe(other) is None
    assert describe(ListPortInfo("/dev/ttyS0")) is None


def test_udev_rules_cover_the_ids_ports_knows():
    from vpyb.host_tools.ports import MICROPYTHON_IDS

    text = RULES.read_text()
    for vid, pid in MICROPYTHON_IDS:
        assert f'ATTRS{{idVendor}}=="{vid:04x}"' in text
    assert 'SYMLINK+="pyboard%n"' in text
    dfu = [line for line in text.splitlines()
           if f'ATTR{{idVendor}}=="{DFU_ID[0]:04x}", ATTR{{idProduct}}=="{DFU_ID[1]:04x}"' in line]
    assert len(dfu) == 1 and 'SUBSYSTEM=="usb"' in dfu[0]
    assert 'TAG+="uaccess"' in dfu[0] and 'SYMLINK+="pyboard-dfu-$attr{serial}"' in dfu[0]
    for line in text.splitlines():
        if line and not line.startswith("#"):
            assert line.startswith("SUBSYSTEM=="), line
