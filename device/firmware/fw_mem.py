# machine.mem8/mem16/mem32: memory by address (extmod/machine_mem.c).  The
# modelled MCU pages are the register file the host maps at their real
# addresses; GPIO registers behave as the hardware's: BSRR sets and resets
# ODR bits, IDR reads the pins' levels, and output changes reach the host.
import uctypes
import fw_pins
import fw_regs
from micropython import const

_GPIO_END = const(0x40022400)
_IDR = const(0x10)
_ODR = const(0x14)
_BSRR = const(0x18)
_KINDS = (uctypes.UINT8, uctypes.UINT16, 0, uctypes.UINT32)


class _Mem:
    def __init__(self, width):
        self._w = width
        self._views = None  # made by attach(), once the pages are mapped

    def _attach(self):
        self._views = [fw_regs.view(base, _KINDS[self._w - 1], size // self._w)
                       for base, size in fw_regs.REGIONS]

    def _where(self, addr):
        if not isinstance(addr, int):
            raise TypeError("can't convert %s to int" % type(addr).__name__)
        if self._views is None:
            raise NotImplementedError("this core has no register file: the hardware model needs the default core")
        if addr & (self._w - 1):
            raise ValueError("address %08x is not aligned to %d bytes" % (addr, self._w))
        for i, (base, size) in enumerate(fw_regs.REGIONS):
            if base <= addr < base + size:
                return self._views[i], (addr - base) // self._w
        raise ValueError("address %08x is not modelled on the virtual board" % addr)

    def __getitem__(self, addr):
        view, i = self._where(addr)
        if fw_regs.GPIO_BASE <= addr < _GPIO_END and (addr & 0x3FF) & ~3 == _IDR:
            fw_regs.refresh_idr((addr - fw_regs.GPIO_BASE) >> 10)
        if fw_regs.GPIO_BASE <= addr < _GPIO_END and (addr & 0x3FF) & ~3 == _BSRR:
            return 0  # write-only
        return view[i]

    def __setitem__(self, addr, value):
        view, i = self._where(addr)
        if not fw_regs.GPIO_BASE <= addr < _GPIO_END:
            view[i] = value
            return
        port = (addr - fw_regs.GPIO_BASE) >> 10
        reg = addr & 0x3FF
        old = fw_regs.reg(port, _ODR)
        if reg & ~3 == _BSRR:
            # Set bits in the low half, reset bits in the high half.
            bits = (value & ((1 << (8 * self._w)) - 1)) << (8 * (reg & 3))
            fw_regs.set_reg(port, _ODR, (old | (bits & 0xFFFF)) & ~(bits >> 16))
        elif reg & ~3 == _IDR:
            return  # read-only
        else:
            view[i] = value
        fw_pins.output_written(port, old)

    def __repr__(self):
        return "<%d-bit memory>" % (8 * self._w)


mem8 = _Mem(1)
mem16 = _Mem(2)
mem32 = _Mem(4)


def attach():
    # At boot, once the register file is mapped: the views are the firmware's.
    for m in (mem8, mem16, mem32):
        m._attach()
