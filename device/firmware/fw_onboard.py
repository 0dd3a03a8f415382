# The board's own devices: four LEDs, the USR switch and the MMA7660
# accelerometer on I2C(1) (ports/stm32/led.c, switch.c, accel.c).
import fw_i2c
import fw_machine
import fw_pins
import fw_regs
import fw_time
from micropython import const

_ODR = const(0x14)
_LED_PINS = b"\x0d\x0e\x0f\x14"  # PA13 red, PA14 green, PA15 yellow, PB4 blue
_SW_PIN = const(0x13)  # PB3
_MMA_AVDD = const(0x15)  # PB5
_MMA_ADDR = const(76)
_MMA_MODE = const(7)
_leds = [None] * 5  # LED(1)..LED(4), made once


def make_leds():
    # At boot: the port's LED objects are static, so they are the firmware's.
    for n in range(1, 5):
        LED(n)


def power_on():
    # A power-on or hard reset session's start: led_init and switch_init0
    # (LED pins outputs, off), accel_init (the accelerometer powered down:
    # a soft reset does the same, device/hardware.py), and the standby flag.
    for p in _LED_PINS:
        fw_pins.Pin(fw_pins.cpu_name(p), fw_pins.Pin.OUT, value=0)
    fw_pins.Pin("SW", fw_pins.Pin.IN, fw_pins.Pin.PULL_UP)
    fw_pins.Pin("MMA_AVDD", fw_pins.Pin.OUT, value=0)
    fw_machine.woke_from_standby()


def _led(cls, n):
    # pyb.LED(n): one of the port's static LED objects.
    if not 1 <= n <= 4:
        raise ValueError("LED(%d) doesn't exist" % n)
    o = _leds[n]
    if o is None:
        o = _leds[n] = _LED(n)
    return o


class _LED:
    def __init__(self, n):
        self._n = n
        self._pin = fw_pins.Pin(fw_pins.cpu_name(_LED_PINS[n - 1]))

    def _set(self, on, pwm=0):
        fw_regs.set_led(self._n, pwm)
        self._pin.value(on)

    def on(self):
        self._set(1)

    def off(self):
        self._set(0)

    def toggle(self):
        # A PWM-driven LED toggles to off (led.c).
        self._set(0 if fw_regs.led(self._n) else not fw_regs.odr(self._pin._i))

    def intensity(self, value=None):
        if value is None:
            pwm = fw_regs.led(self._n)
            return pwm if pwm else 255 * fw_regs.odr(self._pin._i)
        value = min(max(value, 0), 255)
        if self._n < 3 or value in (0, 255):
            self._set(1 if value else 0)  # LEDs 1 and 2 have no PWM
        else:
            self._set(1, value)

    def __repr__(self):
        return "LED(%d)" % self._n


_LED = type("LED", (_LED,), {})  # its objects' class, named as the board's
# pyb.LED: calling it allocates nothing, as on a board, so a hard IRQ can
# (the tutorials' timer and switch callbacks do).  The core allocates the
# arguments of any call of a class with __new__ or __init__; a class made
# by a metaclass with __call__ is called as a method.  The price:
# isinstance(x, pyb.LED) and subclassing it raise TypeError.  The
# metaclass is named as the board's type(pyb.LED) prints.
LED = type("type", (type,), {"__call__": _led})(
    "LED", (), {k: getattr(_LED, k) for k in ("intensity", "off", "on", "toggle")})


class Switch:
    # USR: PB3 with its pull-up, pressed = low; the callback is a hard IRQ.
    def __init__(self):
        self._pin = fw_pins.Pin("SW")

    def value(self):
        return not self._pin.value()

    def __call__(self):
        return self.value()

    def callback(self, fn):
        if fn is not None and not callable(fn):
            raise TypeError("callback must be None or a callable object")
        handler = None if fn is None else (lambda _: fn())
        fw_pins.set_irq(_SW_PIN, handler, fw_pins.IRQ_FALLING, True, None,
                        "ExtInt interrupt handler line 3")

    def __repr__(self):
        return "<Switch>"


class Accel:
    # The MMA7660: powered through MMA_AVDD, then switched to active mode.
    def __init__(self):
        fw_pins.Pin("MMA_AVDD", fw_pins.Pin.OUT, value=1)
        fw_time.sleep_ms(30)
        self._i2c = fw_i2c.I2C(1)
        self._buf = bytearray(1)
        try:
            self.write(_MMA_MODE, 1)
        except OSError:
            raise OSError("accelerometer not found")

    def read(self, reg):
        self._i2c.readfrom_mem_into(_MMA_ADDR, reg, self._buf)
        return self._buf[0]

    def write(self, reg, val):
        self._buf[0] = val
        self._i2c.writeto_mem(_MMA_ADDR, reg, self._buf)

    def _axis(self, reg):
        v = self.read(reg)
        while v & 0x40:  # "alert": the sample was being updated, read again
            v = self.read(reg)
        return v - 64 if v & 0x20 else v

    def x(self):
        return self._axis(0)

    def y(self):
        return self._axis(1)

    def z(self):
        return self._axis(2)

    def tilt(self):
        return self.read(3)

    def filtered_xyz(self):
        # Each axis summed over four samples, as accel.c's filter gives.
        x = y = z = 0
        for _ in range(4):
            x += self._axis(0)
            y += self._axis(1)
            z += self._axis(2)
        return (x, y, z)

    def __repr__(self):
        return "<Accel>"
