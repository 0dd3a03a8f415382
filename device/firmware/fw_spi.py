# SPI: machine.SPI (hardware), machine.SoftSPI and the legacy pyb.SPI
# (ports/stm32/machine_spi.c, pyb_spi.c, spi.c).  A bus is named by its SCK
# pin; the host delivers each transfer to the device whose chip select is low.
import time
import fw_bus
import fw_pins
import fw_side

_NAMES = (("X", 1), ("Y", 2))
_PINS = {1: (0x05, 0x07, 0x06), 2: (0x1D, 0x1F, 0x1E)}  # SCK, MOSI, MISO
_CLOCK = {1: 84000000, 2: 42000000}
_head = bytearray(1)


def transfer(sck, baud, wbuf, rbuf):
    # Full duplex: len(wbuf) bytes out, as many in (into rbuf, if given),
    # taking the bus's time at baud: 8 clocks a byte.
    start = time.ticks_us()
    _head[0] = sck
    step = fw_side.MAX_PAYLOAD - 1
    mv = memoryview(wbuf)
    for at in range(0, len(mv), step):
        r = fw_side.request(fw_side.SPI_XFER, _head, mv[at : at + step])
        if rbuf is not None:
            rbuf[at : at + len(r)] = r
    fw_bus.line_time(start, 8 * len(mv), baud)


def _prescale(bus, baudrate):
    # The smallest power-of-two divider (2..256) not exceeding the request.
    presc = 2
    while presc < 256 and _CLOCK[bus] // presc > baudrate:
        presc *= 2
    return presc


def _setup_pins(pins):
    for p in pins:
        fw_pins.Pin(fw_pins.cpu_name(p), fw_pins.Pin.ALT, alt=5)


class _Methods:
    # read/readinto/write/write_readinto over transfer() on self._sck, at
    # self._rate() bits a second.
    def read(self, nbytes, write=0):
        buf = bytearray(nbytes)
        self.readinto(buf, write)
        return bytes(buf)

    def readinto(self, buf, write=0):
        transfer(self._sck, self._rate(), bytes((write,)) * len(buf), buf)

    def write(self, buf):
        transfer(self._sck, self._rate(), buf, None)

    def write_readinto(self, write_buf, read_buf):
        if len(write_buf) != len(read_buf):
            raise ValueError("buffers must be the same length")
        transfer(self._sck, self._rate(), write_buf, read_buf)

    def deinit(self):
        pass


class SPI(_Methods):
    MSB = 0
    LSB = 0x80

    def __new__(cls, id=-1, *args, **kw):
        if id == -1:
            print("Warning: SPI(-1, ...) is deprecated, use SoftSPI(...) instead")
            return SoftSPI(*args, **kw)
        return object.__new__(cls)

    def __init__(self, id, baudrate=500000, *, polarity=0, phase=0, bits=8, firstbit=0,
                 sck=None, mosi=None, miso=None):
        if sck is not None or mosi is not None or miso is not None:
            raise ValueError("explicit choice of sck/mosi/miso is not implemented")
        self._id = fw_bus.unit("SPI", id, _NAMES, (1, 2))
        self._sck = _PINS[self._id][0]
        self.init(baudrate, polarity=polarity, phase=phase, bits=bits, firstbit=firstbit)

    def init(self, baudrate=500000, *, polarity=0, phase=0, bits=8, firstbit=0):
        self._baud = _CLOCK[self._id] // _prescale(self._id, baudrate)
        self._pol = polarity
        self._pha = phase
        self._bits = bits
        _setup_pins(_PINS[self._id])

    def _rate(self):
        return self._baud

    def __repr__(self):
        return "SPI(%d, baudrate=%d, polarity=%d, phase=%d, bits=%d)" % (
            self._id, self._baud, self._pol, self._pha, self._bits)


class SoftSPI(_Methods):
    MSB = 0
    LSB = 0x80

    def __init__(self, baudrate=500000, *, polarity=0, phase=0, bits=8, firstbit=0,
                 sck=None, mosi=None, miso=None):
        if sck is None or mosi is None or miso is None:
            raise ValueError("must specify all of sck/mosi/miso")
        if bits != 8:
            raise ValueError("bits must be 8")
        self._sck = fw_pins.find(sck)
        self._pins = (self._sck, fw_pins.find(mosi), fw_pins.find(miso))
        self._baud = baudrate
        self._pol = polarity
        self._pha = phase
        fw_pins.Pin(fw_pins.cpu_name(self._pins[0]), fw_pins.Pin.OUT, value=polarity)
        fw_pins.Pin(fw_pins.cpu_name(self._pins[1]), fw_pins.Pin.OUT, value=0)
        fw_pins.Pin(fw_pins.cpu_name(self._pins[2]), fw_pins.Pin.IN)

    def _rate(self):
        return self._baud

    def __repr__(self):
        n = fw_pins.cpu_name
        return "SoftSPI(baudrate=%d, polarity=%d, phase=%d, sck=%s, mosi=%s, miso=%s)" % (
            self._baud, self._pol, self._pha, n(self._pins[0]), n(self._pins[1]), n(self._pins[2]))


class PybSPI(_Methods):
    # pyb.SPI: CONTROLLER/PERIPHERAL modes, send/recv/send_recv.
    CONTROLLER = 0x104
    MASTER = 0x104
    PERIPHERAL = 0
    SLAVE = 0
    MSB = 0
    LSB = 0x80

    def __init__(self, bus, mode=-1, baudrate=328125, **kw):
        self._id = fw_bus.unit("SPI", bus, _NAMES, (1, 2))
        self._sck = _PINS[self._id][0]
        self._mode = -1
        self._presc = _prescale(self._id, baudrate)
        if mode != -1:
            self.init(mode, baudrate, **kw)

    def init(self, mode, baudrate=328125, *, prescaler=-1, polarity=1, phase=0, dir=0, bits=8,
             nss=0, firstbit=0, ti=False, crc=None):
        self._mode = mode
        self._presc = prescaler if prescaler > 0 else _prescale(self._id, baudrate)
        self._pol = polarity
        self._pha = phase
        self._bits = bits
        _setup_pins(_PINS[self._id])

    def deinit(self):
        self._mode = -1

    def _data(self, data, timeout):
        if self._mode != self.CONTROLLER:
            # No controller drives the clock of a peripheral: a timeout.
            fw_side.wait_ms(timeout)
            raise OSError(110)
        return bytes((data,)) if isinstance(data, int) else data

    def send(self, send, *, timeout=5000):
        transfer(self._sck, self._rate(), self._data(send, timeout), None)

    def recv(self, recv, *, timeout=5000):
        buf = bytearray(recv) if isinstance(recv, int) else recv
        transfer(self._sck, self._rate(), self._data(b"\x00" * len(buf), timeout), buf)
        return bytes(buf) if isinstance(recv, int) else buf

    def send_recv(self, send, recv=None, *, timeout=5000):
        data = self._data(send, timeout)
        buf = bytearray(len(data)) if recv is None else recv
        if len(buf) != len(data):
            raise ValueError("recv must be same length as send")
        transfer(self._sck, self._rate(), data, buf)
        return bytes(buf) if recv is None else recv

    def _rate(self):
        return _CLOCK[self._id] // self._presc

    def __repr__(self):
        if self._mode == -1:
            return "SPI(%d)" % self._id
        if self._mode == self.CONTROLLER:
            return "SPI(%d, SPI.CONTROLLER, baudrate=%d, prescaler=%d, polarity=%d, phase=%d, bits=%d)" % (
                self._id, _CLOCK[self._id] // self._presc, self._presc, self._pol, self._pha, self._bits)
        return "SPI(%d, SPI.PERIPHERAL, polarity=%d, phase=%d, bits=%d)" % (
            self._id, self._pol, self._pha, self._bits)
