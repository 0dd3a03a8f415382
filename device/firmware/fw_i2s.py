# machine.I2S on I2S2 (ports/stm32/machine_i2s.c, extmod/machine_i2s.c):
# the controller clocks samples out or in at the frame rate, through a ring
# buffer of `ibuf` bytes and the DMA's buffer.  Nothing is attached to the
# pins: what is written goes nowhere and reads give silence, each taking
# the time the frames take on the wire.
import time
import fw_bus
import fw_pins
from micropython import const

_TX = const(0x0200)  # I2S_MODE_MASTER_TX
_RX = const(0x0300)  # I2S_MODE_MASTER_RX
_DMA_HALF = const(128)  # half of the DMA buffer (SIZEOF_DMA_BUFFER_IN_BYTES / 2)
# I2S2's pins on the board: SCK, WS, SD (stm32f405_af.csv, alternate function 5).
_SCK = (0x1A, 0x1D)  # B10, B13
_WS = (0x19, 0x1C)  # B9, B12
_SD = (0x1F, 0x23)  # B15, C3
_units = {}


def _pin(p, valid, what):
    if not isinstance(p, fw_pins.Pin):
        raise ValueError("%s not a Pin type" % what)
    if p._i not in valid:
        raise ValueError("invalid %s pin" % what)
    return p._i


class I2S:
    RX = _RX
    TX = _TX
    MONO = 0
    STEREO = 1

    def __new__(cls, id, **kw):
        if id != 2:
            raise ValueError("invalid id")
        return fw_bus.single(cls, _units, id)

    def __init__(self, id, **kw):
        self.init(**kw)

    def init(self, *, sck, ws, sd, mck=None, mode, bits, format, rate, ibuf):
        pins = (_pin(sck, _SCK, "SCK"), _pin(ws, _WS, "WS"), _pin(sd, _SD, "SD"))
        if mode not in (_TX, _RX):
            raise ValueError("invalid mode")
        if bits not in (16, 32):
            raise ValueError("invalid bits")
        if format not in (0, 1):
            raise ValueError("invalid format")
        if ibuf <= 0:
            raise ValueError("invalid ibuf")
        for i in pins:
            fw_pins.Pin(fw_pins.cpu_name(i), fw_pins.Pin.ALT, alt=5)
        self._pins = pins
        self._mode = mode
        self._bits = bits
        self._format = format
        self._rate = rate
        self._ibuf = ibuf
        self._bytes_per_s = rate * bits // 8 * (format + 1)
        # The time up to which the wire's samples are spoken for: written
        # ones still to go out (TX), or read ones already taken (RX, whose
        # DMA runs from now on).
        self._wire = time.ticks_us()
        self._on = True

    def deinit(self):
        self._on = False

    def _us(self, n):
        return n * 1000000 // self._bytes_per_s

    def write(self, buf):
        # Returns once what is left to play fits in the ring and DMA buffers.
        if self._mode != _TX:
            raise OSError(1)  # EPERM: not a transmitter
        now = time.ticks_us()
        if time.ticks_diff(self._wire, now) < 0:
            self._wire = now  # the buffers ran dry: the wire went silent
        self._wire = time.ticks_add(self._wire, self._us(len(buf)))
        fw_bus.wait_until(time.ticks_add(self._wire, -self._us(self._ibuf + _DMA_HALF)))
        return len(buf)

    def readinto(self, buf):
        # Returns once the wire has brought len(buf) bytes; samples older
        # than the buffers hold were lost.
        if self._mode != _RX:
            raise OSError(1)  # EPERM: not a receiver
        oldest = time.ticks_add(time.ticks_us(), -self._us(self._ibuf + _DMA_HALF))
        if time.ticks_diff(self._wire, oldest) < 0:
            self._wire = oldest
        self._wire = time.ticks_add(self._wire, self._us(len(buf)))
        fw_bus.wait_until(self._wire)
        for i in range(len(buf)):
            buf[i] = 0
        return len(buf)

    def irq(self, handler):
        raise NotImplementedError("I2S's non-blocking mode is not modelled")

    @staticmethod
    def shift(buf, bits, shift):
        # Scales the samples in place (extmod/machine_i2s.c): left for a
        # positive shift, right (arithmetic) for a negative one.
        if bits not in (16, 32):
            raise ValueError("invalid bits")
        size = bits // 8
        mv = memoryview(buf)
        for at in range(0, len(mv) - size + 1, size):
            v = int.from_bytes(mv[at:at + size], "little")
            if v >> (bits - 1):
                v -= 1 << bits
            v = v << shift if shift >= 0 else v >> -shift
            mv[at:at + size] = (v & ((1 << bits) - 1)).to_bytes(size, "little")

    def __repr__(self):
        n = fw_pins.cpu_name
        return "I2S(id=2,\nsck=%s,\nws=%s,\nsd=%s,\nmode=%d,\nbits=%d, format=%d,\nrate=%d, ibuf=%d)" % (
            n(self._pins[0]), n(self._pins[1]), n(self._pins[2]), self._mode, self._bits,
            self._format, self._rate, self._ibuf)
