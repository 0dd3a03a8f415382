# The board's USB device (ports/stm32/usb.c).  The VCP is the board's
# serial port; it starts as VCP+MSC after boot.py and then stays for the
# board's power-lifetime, so usb_mode() reads 'VCP+MSC' and setting another
# mode is accepted and changes nothing, as on a board whose USB is already
# up.  There is no mass storage or HID on the host side: a HID report goes
# nowhere.

# The report descriptors of the boot mouse and keyboard (usbd_cdc_msc_hid.c).
hid_mouse = (1, 2, 4, 8, bytes.fromhex(
    "05010902a1010901a100050919012903150025019503750181029501750581010501"
    "0930093109381581257f750895038106c0093c05ff09011500250175019502b12275069501b101c0"))
hid_keyboard = (1, 1, 8, 8, bytes.fromhex(
    "05010906a101050719e029e7150025017501950881029501750881019505750105"
    "0819012905910295017503910195067508150025650507190029658100c0"))
_MODES = ("VCP", "MSC", "VCP+MSC", "VCP+HID", "VCP+MSC+HID", "CDC", "CDC+MSC", "CDC+HID")


def usb_mode(*args, port=-1, vid=0xF055, pid=-1, msc=(), hid=hid_mouse, high_speed=False):
    if not args:
        return "VCP+MSC"
    mode = args[0]
    if mode is None:
        raise NotImplementedError("the virtual board's VCP can't be switched off")
    if mode not in _MODES:
        raise ValueError("bad USB mode")
    if len(msc) > 1:
        raise ValueError("too many logical units")
    if "HID" in mode and len(hid) != 5:
        raise ValueError("requested length 5 but object has length %d" % len(hid))


def hid(report):
    # pyb_usb_hid_send: a buffer, or up to 8 ints; 0 bytes sent without a
    # HID interface.
    if not isinstance(report, (bytes, bytearray, memoryview)) and len(report) > 8:
        raise ValueError("tuple/list too large for HID report; use bytearray instead")
    return 0
