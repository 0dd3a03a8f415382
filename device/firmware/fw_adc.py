# ADCs: pyb.ADC and machine.ADC read the 12-bit values the host sets for
# each channel (ports/stm32/adc.c, machine_adc.c).
import fw_pins
import fw_regs
import fw_side

_INTERNAL = (16, 17, 18)  # temperature, VREFINT, VBAT


def channel_of(i):
    # ADC1 channel of a pin index (stm32f405_af.csv), or -1.
    if i < 8:
        return i  # PA0..PA7
    if i in (16, 17):
        return i - 8  # PB0, PB1
    if 32 <= i <= 37:
        return i - 22  # PC0..PC5
    return -1


def _setup(pin, says):
    i = fw_pins.find(pin)
    ch = channel_of(i)
    if ch < 0:
        raise ValueError("Pin(%s) %s have ADC capabilities" % (fw_pins.cpu_name(i), says))
    fw_pins.Pin(pin, fw_pins.Pin.ANALOG)
    return ch


class ADC:
    # pyb.ADC
    def __init__(self, pin):
        if isinstance(pin, int):
            if not (0 <= pin <= 15 or pin in _INTERNAL):
                raise ValueError("not a valid ADC Channel: %d" % pin)
            ch = pin
            if pin < 16:
                for i in range(48):
                    if channel_of(i) == pin:
                        fw_pins.Pin(fw_pins.cpu_name(i), fw_pins.Pin.ANALOG)
        else:
            ch = _setup(pin, "doesn't")
        self._arg = pin
        self._ch = ch

    def read(self):
        return fw_regs.adc(self._ch)

    def read_timed(self, buf, timer):
        # One sample per tick of the timer (or at `timer` Hz).
        hz = timer if isinstance(timer, int) else timer.freq()
        for i in range(len(buf)):
            buf[i] = fw_regs.adc(self._ch)
            fw_side.wait_us(1000000 // hz)

    def __repr__(self):
        return "<ADC on %s channel=%d>" % (self._arg, self._ch)


class MachineADC:
    # machine.ADC: read_u16 scales the 12 bits to 16 (machine_adc.c).
    def __init__(self, pin, *, sample_ns=None):
        if isinstance(pin, int):
            self._ch = pin
        else:
            self._ch = _setup(pin, "does not")

    def read_u16(self):
        raw = fw_regs.adc(self._ch)
        return raw << 4 | raw >> 8

    def __repr__(self):
        return "<ADC1 channel=%d>" % self._ch
