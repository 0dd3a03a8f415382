# ADCs: pyb.ADC, pyb.ADCAll and machine.ADC read the 12-bit values the host
# sets for each channel (ports/stm32/adc.c, machine_adc.c).
import time
import fw_bus
import fw_pins
import fw_regs
import fw_timer
from micropython import const

_INTERNAL = (16, 17, 18)  # temperature, VREFINT, VBAT
_TEMP = const(16)
_VREF = const(17)
_VBAT = const(18)
# The F405's factory calibration in system memory (adc.c ADC_CAL_ADDRESS):
# VREFINT at 3.3 V, then the temperature sensor at 30 C and at 110 C.
_VREFIN_CAL = const(0x1FFF7A2A)
_TS_CAL1 = const(0x1FFF7A2C)
_TS_CAL2 = const(0x1FFF7A2E)
_SCALE_V = 3.3
_VBAT_DIV = const(2)
_refcor = [1.0]  # adc.c's reference correction, set by each VREFINT reading


def channel_of(i):
    # ADC1 channel of a pin index (stm32f405_af.csv), or -1.
    if i < 8:
        return i  # PA0..PA7
    if i in (16, 17):
        return i - 8  # PB0, PB1
    if 32 <= i <= 37:
        return i - 22  # PC0..PC5
    return -1


def _analog(ch):
    # The pin of a channel 0..15 to ANALOG mode (adc_init_single/adc_init_all).
    for i in range(48):
        if channel_of(i) == ch:
            fw_pins.Pin(fw_pins.cpu_name(i), fw_pins.Pin.ANALOG)
            return


def _setup(pin, says):
    i = fw_pins.find(pin)
    ch = channel_of(i)
    if ch < 0:
        raise ValueError("Pin(%s) %s have ADC capabilities" % (fw_pins.cpu_name(i), says))
    fw_pins.Pin(pin, fw_pins.Pin.ANALOG)
    return ch


def _item_size(buf):
    # The element size of a bytearray or an array (mp_binary_get_size).
    return len(bytes(buf[:1])) if len(buf) else 1


def _period_ns(timer):
    # A sample per update of the timer; an int is a frequency for TIM6 (the
    # legacy way).
    if isinstance(timer, int):
        return 1000000000 // timer
    return fw_timer.period_ns(timer)


def _wait_tick(due):
    # Waits for the update at `due` (ticks_us); False if it had already passed.
    late = time.ticks_diff(time.ticks_us(), due) > 0
    fw_bus.wait_until(due)
    return not late


class ADC:
    # pyb.ADC
    def __init__(self, pin):
        if isinstance(pin, int):
            if not (0 <= pin <= 15 or pin in _INTERNAL):
                raise ValueError("not a valid ADC Channel: %d" % pin)
            ch = pin
            if pin < 16:
                _analog(pin)
        else:
            ch = _setup(pin, "doesn't")
        self._arg = pin
        self._ch = ch

    def read(self):
        return fw_regs.adc(self._ch)

    def read_timed(self, buf, timer):
        # One sample per timer update; 12 bits, or the top 8 into bytes.
        shift = 4 if _item_size(buf) == 1 else 0
        ns = _period_ns(timer)
        start = time.ticks_us()
        for i in range(len(buf)):
            _wait_tick(time.ticks_add(start, (i + 1) * ns // 1000))
            buf[i] = fw_regs.adc(self._ch) >> shift
        return len(buf) * _item_size(buf)

    @staticmethod
    def read_timed_multi(adcs, bufs, timer):
        # Every ADC sampled at each timer update, into its own buffer; False
        # if an update came before the last one's samples were stored.
        if len(adcs) < 1:
            raise ValueError("need at least 1 ADC")
        if len(adcs) != len(bufs):
            raise ValueError("length of ADC and buffer lists differ")
        size = _item_size(bufs[0])
        for b in bufs:
            if len(b) != len(bufs[0]) or _item_size(b) != size:
                raise ValueError("size and type of buffers must match")
        shift = 4 if size == 1 else 0
        ns = _period_ns(timer)
        start = time.ticks_us()
        kept = True
        for i in range(len(bufs[0])):
            kept = _wait_tick(time.ticks_add(start, (i + 1) * ns // 1000)) and kept
            for a in range(len(adcs)):
                bufs[a][i] = fw_regs.adc(adcs[a]._ch) >> shift
        return kept

    def __repr__(self):
        return "<ADC on %s channel=%d>" % (self._arg, self._ch)


def _cal(addr):
    return fw_regs.mem16(addr)


class ADCAll:
    # pyb.ADCAll: every channel of ADC1 at one resolution; the masked pins
    # go to ANALOG mode.
    def __init__(self, resolution, mask=0xFFFFFFFF):
        if resolution not in (6, 8, 10, 12):
            raise ValueError("resolution %d not supported" % resolution)
        self._res = resolution
        for ch in range(16):
            if mask >> ch & 1:
                _analog(ch)

    def read_channel(self, ch):
        if not 0 <= ch <= 18:
            raise ValueError("not a valid ADC Channel: %d" % ch)
        return fw_regs.adc(ch) >> (12 - self._res)

    def _ref(self, ch):
        # A reading scaled back to the calibration's 12 bits.
        return self.read_channel(ch) << (12 - self._res)

    def read_core_temp(self):
        cal1 = _cal(_TS_CAL1)
        slope = (_cal(_TS_CAL2) - cal1) / 80
        return (self._ref(_TEMP) * _refcor[0] - cal1) / slope + 30

    def read_core_vref(self):
        cal = _cal(_VREFIN_CAL)
        _refcor[0] = cal / self._ref(_VREF)
        return cal * _SCALE_V / 4095

    def read_core_vbat(self):
        self.read_core_vref()
        return self._ref(_VBAT) * _VBAT_DIV * _SCALE_V / 4095 * _refcor[0]

    def read_vref(self):
        self.read_core_vref()
        return _SCALE_V * _refcor[0]

    def __repr__(self):
        return "<ADCAll>"


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
