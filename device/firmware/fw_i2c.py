# I2C: machine.I2C (hardware), machine.SoftI2C and the legacy pyb.I2C
# (ports/stm32/machine_i2c.c, pyb_i2c.c, extmod/machine_i2c.c).  A bus is
# named by its SCL and SDA pins; the devices on it are host models.
import fw_bus
import fw_pins
import fw_side
from micropython import const

_NAMES = (("X", 1), ("Y", 2))
_PINS = {1: (0x16, 0x17), 2: (0x1A, 0x1B)}  # SCL, SDA: B6/B7, B10/B11
_ENODEV = const(19)
_EIO = const(5)
_head = bytearray(5)
_units = {}


def reset():
    # Soft reset: the I2C objects made this session go with the heap.
    _units.clear()


def _ccr_freq(freq):
    # The rate the I2C clock registers give at PCLK1 = 42 MHz (i2c.c): the
    # repr shows this, e.g. 400000 -> 336000.
    if freq <= 100000:
        ccr = max(4, -(-42000000 // (2 * freq)))
        return 42000000 // (2 * ccr)
    ccr = max(1, -(-42000000 // (25 * freq)))
    return 42000000 // (25 * ccr)


def transfer(pins, addr, wbuf, rbuf, stop=True, nack_errno=_ENODEV):
    # One transaction: write wbuf (may be empty), then read into rbuf.
    # Returns how many written bytes were ACKed.
    if len(wbuf) > fw_side.MAX_PAYLOAD - 5 or (rbuf and len(rbuf) > fw_side.MAX_PAYLOAD - 3):
        raise ValueError("I2C transfers are at most %d bytes on the virtual board" % (fw_side.MAX_PAYLOAD - 5))
    h = _head
    h[0] = pins[0]
    h[1] = pins[1]
    h[2] = addr
    n = len(rbuf) if rbuf else 0
    h[3] = n
    h[4] = (n >> 8) | (0x80 if stop else 0)
    r = fw_side.request(fw_side.I2C_XFER, h, wbuf)
    err = r[0]
    if err:
        raise OSError(nack_errno if err == _ENODEV else err)
    if n:
        rbuf[:] = r[3 : 3 + n]
    return r[1] | r[2] << 8


def scan(pins):
    _head[0] = pins[0]
    _head[1] = pins[1]
    return list(fw_side.request(fw_side.I2C_SCAN, _head[:2]))


def _mem_addr(memaddr, addrsize):
    if addrsize not in (8, 16):
        raise ValueError("invalid addrsize")
    return memaddr.to_bytes(addrsize // 8, "big")


class _Controller:
    # The machine.I2C methods, over transfer() on self._pins.
    def scan(self):
        return scan(self._pins)

    def writeto(self, addr, buf, stop=True):
        return transfer(self._pins, addr, buf, None, stop)

    def writevto(self, addr, vector, stop=True):
        return transfer(self._pins, addr, b"".join(vector), None, stop)

    def readfrom_into(self, addr, buf, stop=True):
        transfer(self._pins, addr, b"", buf, stop)

    def readfrom(self, addr, nbytes, stop=True):
        buf = bytearray(nbytes)
        transfer(self._pins, addr, b"", buf, stop)
        return bytes(buf)

    def readfrom_mem_into(self, addr, memaddr, buf, *, addrsize=8):
        # Write the address, repeated start, read (extmod/machine_i2c.c).
        transfer(self._pins, addr, _mem_addr(memaddr, addrsize), buf, True)

    def readfrom_mem(self, addr, memaddr, nbytes, *, addrsize=8):
        buf = bytearray(nbytes)
        self.readfrom_mem_into(addr, memaddr, buf, addrsize=addrsize)
        return bytes(buf)

    def writeto_mem(self, addr, memaddr, buf, *, addrsize=8):
        transfer(self._pins, addr, _mem_addr(memaddr, addrsize) + bytes(buf), None, True)


class I2C(_Controller):
    def __new__(cls, id=-1, *, scl=None, sda=None, freq=400000, timeout=50000, timingr=None):
        if id == -1:
            print("Warning: I2C(-1, ...) is deprecated, use SoftI2C(...) instead")
            return SoftI2C(scl, sda, freq=freq, timeout=timeout)
        if scl is not None or sda is not None:
            raise ValueError("explicit choice of scl/sda is not implemented")
        n = fw_bus.unit("I2C", id, _NAMES, (1, 2))
        o = fw_bus.single(cls, _units, n)
        o._pins = _PINS[n]
        o._freq = _ccr_freq(freq)
        for p in o._pins:
            fw_pins.Pin(fw_pins.cpu_name(p), fw_pins.Pin.ALT_OPEN_DRAIN, fw_pins.Pin.PULL_NONE, alt=4)
        return o

    def __init__(self, *args, **kw):
        pass

    def _unsupported(self, *args, **kw):
        raise OSError("I2C operation not supported")

    init = start = stop = readinto = write = _unsupported

    def deinit(self):
        pass

    def __repr__(self):
        return "I2C(%d, scl=%s, sda=%s, freq=%d)" % (
            self._id, fw_pins.cpu_name(self._pins[0]), fw_pins.cpu_name(self._pins[1]), self._freq)


class SoftI2C(_Controller):
    def __init__(self, scl, sda, *, freq=400000, timeout=50000):
        self._pins = (fw_pins.find(scl), fw_pins.find(sda))
        self._freq = freq
        for p in self._pins:
            fw_pins.Pin(fw_pins.cpu_name(p), fw_pins.Pin.OPEN_DRAIN, fw_pins.Pin.PULL_UP, value=1)

    def _bits(self, *args, **kw):
        raise NotImplementedError("SoftI2C start/stop/readinto/write are not modelled: use the transaction methods")

    init = start = stop = readinto = write = _bits

    def __repr__(self):
        return "SoftI2C(scl=%s, sda=%s, freq=%d)" % (
            fw_pins.cpu_name(self._pins[0]), fw_pins.cpu_name(self._pins[1]), self._freq)


class PybI2C:
    # pyb.I2C: NACKs are OSError(5) (HAL_ERROR), the address is a keyword.
    CONTROLLER = 0
    MASTER = 0
    PERIPHERAL = 1
    SLAVE = 1

    def __init__(self, bus, mode=-1, *, addr=0x12, baudrate=400000, gencall=False, dma=False):
        self._id = fw_bus.unit("I2C", bus, _NAMES, (1, 2))
        self._pins = _PINS[self._id]
        self._mode = -1
        if mode != -1:
            self.init(mode, addr=addr, baudrate=baudrate, gencall=gencall, dma=dma)

    def init(self, mode, *, addr=0x12, baudrate=400000, gencall=False, dma=False):
        self._mode = mode
        self._addr = addr
        self._baud = _ccr_freq(min(baudrate, 400000))

    def deinit(self):
        self._mode = -1

    def _controller(self, addr, target_op=False):
        if self._mode == 1 and target_op:
            raise NotImplementedError("I2C peripheral mode is not modelled")
        if self._mode != 0:
            raise TypeError("I2C must be a controller")
        if addr is None:
            raise TypeError("addr argument required")

    def scan(self):
        return [a for a in scan(self._pins) if 0x08 <= a <= 0x77]

    def is_ready(self, addr):
        try:
            transfer(self._pins, addr, b"", None, True, _EIO)
        except OSError:
            return False
        return True

    def send(self, send, addr=None, *, timeout=5000):
        self._controller(addr, True)
        data = bytes((send,)) if isinstance(send, int) else send
        transfer(self._pins, addr, data, None, True, _EIO)

    def recv(self, recv, addr=None, *, timeout=5000):
        self._controller(addr, True)
        buf = bytearray(recv) if isinstance(recv, int) else recv
        transfer(self._pins, addr, b"", buf, True, _EIO)
        return bytes(buf) if isinstance(recv, int) else buf

    def mem_read(self, data, addr, memaddr, *, timeout=5000, addr_size=8):
        self._controller(addr)
        buf = bytearray(data) if isinstance(data, int) else data
        transfer(self._pins, addr, _mem_addr(memaddr, addr_size), buf, True, _EIO)
        return bytes(buf) if isinstance(data, int) else buf

    def mem_write(self, data, addr, memaddr, *, timeout=5000, addr_size=8):
        self._controller(addr)
        data = bytes((data,)) if isinstance(data, int) else bytes(data)
        transfer(self._pins, addr, _mem_addr(memaddr, addr_size) + data, None, True, _EIO)

    def __repr__(self):
        if self._mode == -1:
            return "I2C(%d)" % self._id
        if self._mode == 0:
            return "I2C(%d, I2C.CONTROLLER, baudrate=%d)" % (self._id, self._baud)
        return "I2C(%d, I2C.PERIPHERAL, addr=0x%02x)" % (self._id, self._addr)
