"""Boards in DFU mode, found on the USB bus through pyusb.  No USB device
can be plugged in here: the real libusb backend is enumerated (it finds
none), and a backend object of pyusb's own interface stands for a bus with
a board in DFU mode on it."""
import ctypes.util
import subprocess
import sys
from array import array
from types import SimpleNamespace

import pytest
from usb.backend import IBackend

from vpyb.host_tools.ports import NO_LIBUSB, dfu_boards, usb_backend


class FakeBus(IBackend):
    """pyusb's backend interface over a list of device records: their
    descriptors, and their string descriptors through control transfers,
    as libusb would return them."""

    def __init__(self, *devices: dict) -> None:
        self.devices = devices

    def enumerate_devices(self):
        return iter(range(len(self.devices)))

    def get_device_descriptor(self, dev):
        d = self.devices[dev]
        strings = d.get("strings", {})
        return SimpleNamespace(
            bLength=18, bDescriptorType=1, bcdUSB=0x0200, bDeviceClass=0, bDeviceSubClass=0,
            bDeviceProtocol=0, bMaxPacketSize0=64, idVendor=d["vid"], idProduct=d["pid"],
            bcdDevice=0x2200, iManufacturer=0, iProduct=0, iSerialNumber=3 if 3 in strings else 0,
            bNumConfigurations=1, address=d["address"], bus=d["bus"], port_number=d["ports"][-1],
            port_numbers=d["ports"], speed=3)

    def open_device(self, dev):
        return dev

    def close_device(self, dev_handle):
        pass

    def ctrl_transfer(self, dev_handle, bmRequestType, bRequest, wValue, wIndex, data, timeout):
        assert (bmRequestType, bRequest, wValue >> 8) == (0x80, 6, 3)  # GET_DESCRIPTOR, a string
        index = wValue & 0xFF
        if index == 0:
            desc = bytes([4, 3, 0x09, 0x04])  # the languages: en-US
        else:
            text = self.devices[dev_handle]["strings"][index].encode("utf-16-le")
            desc = bytes([2 + len(text), 3]) + text
        n = min(len(data), len(desc))
        data[:n] = array("B", desc[:n])
        return n


def test_the_real_backend_runs_and_finds_no_board_here():
    backend = usb_backend()
    assert backend is not None  # libusb-package's libusb, a dependency
    assert dfu_boards(backend) == []


def test_a_board_in_dfu_mode_is_listed_with_its_path_and_serial():
    bus = FakeBus(
        {"vid": 0x046D, "pid": 0xC31C, "bus": 1, "address": 2, "ports": (1,)},  # a keyboard
        {"vid": 0x0483, "pid": 0xDF11, "bus": 1, "address": 7, "ports": (4, 2),
         "strings": {3: "3276385A3234"}},
        {"vid": 0x0483, "pid": 0xDF11, "bus": 3, "address": 5, "ports": (1,)},  # no serial number
    )
    first, second = dfu_boards(bus)
    assert (first.port, first.kind, first.usb_id, first.serial_number) == ("usb:1-4.2", "dfu", "0483:df11",
                                                                        "3276385A3234")
    assert str(first) == ("usb:1-4.2                dfu      STM32 in DFU mode 0483:df11 serial 3276385A3234: "
                          "no serial port; flash it with dfu-util -d 0483:df11 -p 1-4.2")
    assert (second.port, second.serial_number) == ("usb:3-1", None)
    assert "STM32 in DFU mode 0483:df11: no serial port" in second.detail


@pytest.mark.skipif(bool(ctypes.util.find_library("usb-1.0")), reason="this host has a system libusb")
def test_no_libusb_is_one_clear_line():
    # A Python without libusb-package on a host without libusb: pyusb finds
    # no library, and `vpyb ports` says so in one line and lists the rest.
    code = ("import sys; sys.modules['libusb_package'] = None; "
            "from vpyb.host_tools.cli import main; sys.exit(main(['ports']))")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=30)
    assert r.returncode == 0
    assert r.stderr == f"vpyb ports: {NO_LIBUSB}\n"
    assert r.stdout  # the serial and virtual boards are still listed (or "no ... boards found")
