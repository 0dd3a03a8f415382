# GPIO: Pin (machine.Pin is pyb.Pin), pin IRQs and ExtInt, on the GPIO
# registers of the register file (ports/stm32/pin.c, extint.c).
import fw_bus
import fw_regs
import fw_side
from micropython import const

_MODER = const(0x00)
_PUPDR = const(0x0C)
_ODR = const(0x14)

# PYBV11 pins.csv: board name=CPU pin.
_BOARD = (
    b" X1=A0 X2=A1 X3=A2 X4=A3 X5=A4 X6=A5 X7=A6 X8=A7 X9=B6 X10=B7 X11=C4 X12=C5"
    b" X17=B3 X18=C13 X19=C0 X20=C1 X21=C2 X22=C3 Y1=C6 Y2=C7 Y3=B8 Y4=B9 Y5=B12"
    b" Y6=B13 Y7=B14 Y8=B15 Y9=B10 Y10=B11 Y11=B0 Y12=B1 SW=B3 LED_RED=A13"
    b" LED_GREEN=A14 LED_YELLOW=A15 LED_BLUE=B4 MMA_INT=B2 MMA_AVDD=B5 SD_D0=C8"
    b" SD_D1=C9 SD_D2=C10 SD_D3=C11 SD_CMD=D2 SD_CK=C12 SD=A8 SD_SW=A8 USB_VBUS=A9"
    b" USB_ID=A10 USB_DM=A11 USB_DP=A12 "
)
_CPU_LAST = b"\x0f\x0f\x0d"  # last pin of ports A, B, C; port D has only D2

_RISE = const(0x10110000)
_FALL = const(0x10210000)
_BOTH = const(0x10310000)
IRQ_FALLING = _FALL

_irqs = {}  # pin index -> _Irq
_irq_list = []  # the same, a list made anew at each change: a hard IRQ
# that writes a pin checks them without allocating, and may change them
_note = bytearray(3)
_exti = [0]  # EXTI events so far (pin edges, the RTC's wakeup): what ends a light sleep


def exti_event():
    _exti[0] += 1


def exti_events():
    return _exti[0]


def cpu_index(name):
    # 'A0'..'C13', 'D2' -> pin index, or -1.
    if len(name) < 2 or name[0] not in "ABCD" or not name[1:].isdigit():
        return -1
    port = ord(name[0]) - 65
    n = int(name[1:])
    if (port == 3 and n == 2) or (port < 3 and n <= _CPU_LAST[port] and str(n) == name[1:]):
        return port * 16 + n
    return -1


def cpu_name(i):
    return "%s%d" % ("ABCDEFGHI"[i >> 4], i & 15)


def find(pin):
    # A pin index from a Pin, a board name or a CPU name.
    if not fw_regs.mapped():
        raise NotImplementedError("this core has no register file: the hardware model needs the default core")
    if isinstance(pin, Pin):
        return pin._i
    if isinstance(pin, str):
        at = _BOARD.find(b" " + pin.encode() + b"=")
        if at >= 0:
            at += len(pin) + 2
            return cpu_index(str(_BOARD[at : _BOARD.find(b" ", at)], "ascii"))
        i = cpu_index(pin)
        if i >= 0:
            return i
    raise ValueError("Pin(%s) doesn't exist" % pin)


def output_written(port, old):
    # After firmware code changed a port's ODR: IDR, the host, the IRQs.
    new = fw_regs.reg(port, _ODR)
    fw_regs.refresh_idr(port)
    if (old ^ new) & fw_regs.watched(port):
        _note[0] = port
        _note[1] = new & 0xFF
        _note[2] = new >> 8
        fw_side.request(fw_side.PIN_CHANGED, _note, reply=False)
    if _irqs:
        check_irqs()


def check_irqs():
    for irq in _irq_list:
        irq.check()


def _on_pin_event(payload):
    # The host changed what drives a pin of the port payload[0].
    fw_regs.refresh_idr(payload[0])
    check_irqs()


fw_side.handlers[fw_side.EV_PIN] = _on_pin_event


def reset():
    # Soft reset: every IRQ goes (pin_init0/extint_init0).
    global _irq_list
    _irqs.clear()
    _irq_list = []


class _Irq(fw_bus.Irq):
    # One pin's IRQ, fired on the edges of the level its line has.
    def __init__(self, pin, handler, trigger, hard, arg, label):
        super().__init__(handler, trigger, hard, arg, label)
        self._pin = pin
        self.level = fw_regs.level(pin)

    def check(self):
        now = fw_regs.level(self._pin)
        if now == self.level:
            return
        self.level = now
        edge = _RISE if now else _FALL
        if self._trigger & edge & 0x00F00000:
            exti_event()
            self.fire(edge >> 20 & 3)


def set_irq(i, handler, trigger, hard, arg, label):
    global _irq_list
    irq = None
    if handler is None:
        _irqs.pop(i, None)
    else:
        irq = _irqs[i] = _Irq(i, handler, trigger, hard, arg, label)
    _irq_list = list(_irqs.values())
    return irq


class _Names:
    # Pin.board and Pin.cpu.
    def __init__(self, board):
        self._board = board

    def __getattr__(self, name):
        if self._board and _BOARD.find(b" " + name.encode() + b"=") < 0:
            raise AttributeError(name)
        if not self._board and cpu_index(name) < 0:
            raise AttributeError(name)
        return Pin(name)


class Pin:
    IN = 0
    OUT = 1
    OUT_PP = 1
    OPEN_DRAIN = 0x11
    OUT_OD = 0x11
    ALT = 2
    AF_PP = 2
    ALT_OPEN_DRAIN = 0x12
    AF_OD = 0x12
    ANALOG = 3
    PULL_NONE = 0
    PULL_UP = 1
    PULL_DOWN = 2
    IRQ_RISING = _RISE
    IRQ_FALLING = _FALL
    board = _Names(True)
    cpu = _Names(False)

    def __init__(self, id, mode=-1, pull=-1, *, value=None, alt=-1, af=-1):
        self._i = find(id)
        if mode != -1 or pull != -1 or value is not None or alt != -1 or af != -1:
            self.init(mode, pull, value=value, alt=alt, af=af)

    def init(self, mode=-1, pull=-1, *, value=None, alt=-1, af=-1):
        i = self._i
        if mode == -1:
            mode = self.mode()
        if mode not in (0, 1, 0x11, 2, 0x12, 3):
            raise ValueError("invalid pin mode: %d" % mode)
        if pull == -1:
            pull = 0
        if pull not in (0, 1, 2):
            raise ValueError("invalid pin pull: %d" % pull)
        if alt == -1:
            alt = af
        if mode in (2, 0x12) and not 0 <= alt <= 15:
            raise ValueError("invalid pin af: %d" % alt)
        port = i >> 4
        old = fw_regs.reg(port, _ODR)
        if value is not None:
            self._set_odr(value)
        if alt >= 0:
            fw_regs.set_af(i, alt)
        fw_regs.set_otype(i, mode >> 4)
        fw_regs.set_field2(i, _PUPDR, pull)
        fw_regs.set_field2(i, _MODER, mode & 3)
        output_written(port, old)

    def _set_odr(self, v):
        port = self._i >> 4
        b = 1 << (self._i & 15)
        o = fw_regs.reg(port, _ODR)
        fw_regs.set_reg(port, _ODR, o | b if v else o & ~b)
        return o

    def value(self, v=None):
        if v is None:
            return fw_regs.level(self._i)
        output_written(self._i >> 4, self._set_odr(v))

    def __call__(self, v=None):
        return self.value(v)

    def on(self):
        self.value(1)

    def off(self):
        self.value(0)

    high = on
    low = off

    def mode(self):
        return fw_regs.field2(self._i, _MODER) | fw_regs.otype(self._i) << 4

    def pull(self):
        return fw_regs.field2(self._i, _PUPDR)

    def af(self):
        return fw_regs.af(self._i)

    def name(self):
        return cpu_name(self._i)

    def names(self):
        out = [self.name()]
        at = 0
        me = b"=" + out[0].encode() + b" "
        while True:
            at = _BOARD.find(me, at)
            if at < 0:
                return out
            start = _BOARD.rfind(b" ", 0, at) + 1
            out.append(str(_BOARD[start:at], "ascii"))
            at += 1

    def port(self):
        return self._i >> 4

    def pin(self):
        return self._i & 15

    def gpio(self):
        return fw_regs.GPIO_BASE + (self._i >> 4) * 0x400

    def irq(self, handler=None, trigger=_BOTH, hard=False):
        irq = set_irq(self._i, handler, trigger, hard, self, "Pin.irq handler")
        return irq

    def __eq__(self, other):
        return isinstance(other, Pin) and other._i == self._i

    def __repr__(self):
        m = self.mode()
        s = "Pin(Pin.cpu.%s, mode=Pin." % self.name()
        if m == 3:
            return s + "ANALOG)"
        s += ("IN", "OUT", "ALT")[m & 3] if m < 0x10 else ("", "OPEN_DRAIN", "ALT_OPEN_DRAIN")[m & 3]
        p = self.pull()
        if p:
            s += ", pull=Pin." + ("", "PULL_UP", "PULL_DOWN")[p]
        if m & 3 == 2:
            return s + ", alt=%d)" % self.af()
        return s + ")"


class ExtInt:
    # pyb.ExtInt: a hard IRQ on a pin's EXTI line; the callback gets the line.
    IRQ_RISING = _RISE
    IRQ_FALLING = _FALL
    IRQ_RISING_FALLING = _BOTH
    EVT_RISING = 0x10120000
    EVT_FALLING = 0x10220000
    EVT_RISING_FALLING = 0x10320000

    def __init__(self, pin, mode, pull, callback):
        p = Pin(pin, Pin.IN, pull)
        self._i = p._i
        line = self._i & 15
        self._irq = set_irq(self._i, callback, mode, True, line,
                            "ExtInt interrupt handler line %d" % line)

    def line(self):
        return self._i & 15

    def enable(self):
        self._irq.enabled = True

    def disable(self):
        self._irq.enabled = False

    def swint(self):
        if self._irq.enabled:
            exti_event()
            self._irq.fire()

    def __repr__(self):
        return "<ExtInt line=%d>" % self.line()
