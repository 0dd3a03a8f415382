# pyb.Servo (ports/stm32/servo.c): four servo outputs on X1..X4, PWM
# channels 1..4 of TIM5 counting 10 us ticks with a 20 ms period.  The
# pulse widths are TIM5's compare registers in the register file, where the
# host reads them; a move given a time steps every 20 ms, on TIM5's updates.
import fw_bus
import fw_mem
import fw_pins
import fw_timer
from micropython import const

_TIM5 = const(0x40000C00)
_PSC = const(0x28)
_ARR = const(0x2C)
_CCR1 = const(0x34)
_TIM5_SLOT = const(5)
_PERIOD_US = const(20000)
_units = {}


def _div(a, b):
    # C's integer division, which truncates towards zero.
    q = abs(a) // abs(b)
    return q if (a < 0) == (b < 0) else -q


def _mod(a, b):
    return a - b * _div(a, b)


class _Updates:
    # servo_timer_irq_callback: a step of every servo, run at once for a
    # new destination and then by TIM5's update IRQ while one moves.
    def __init__(self):
        self.on = False

    def _tick(self):
        moving = False
        for s in _units.values():
            moving = s._step() or moving
        if moving != self.on:
            self.on = moving
            fw_timer.run_every(_TIM5_SLOT, self if moving else None, _PERIOD_US if moving else 0)


_updates = _Updates()


class Servo:
    def __new__(cls, id):
        if not 1 <= id <= 4:
            raise ValueError("Servo(%d) doesn't exist" % id)
        s = fw_bus.single(cls, _units, id)
        if not s._on:
            # servo_init: the defaults, in units of 10 us.
            s._min, s._max, s._centre, s._angle_90, s._speed_100 = 64, 242, 150, 97, 70
            s._cur = 150
            s._accum = 0
            s._on = True
        return s

    def __init__(self, id):
        # The channel starts where it was (servo_init_channel): TIM5 at
        # 100 kHz, 2000 ticks a period, the pin on TIM5's channel.
        self._dest = self._cur
        self._left = 0
        fw_mem.mem32[_TIM5 + _PSC] = 84000000 // 100000 - 1
        fw_mem.mem32[_TIM5 + _ARR] = _PERIOD_US // 10 - 1
        fw_pins.Pin(fw_pins.cpu_name(self._id - 1), fw_pins.Pin.ALT, alt=2)
        self._compare()

    def _compare(self):
        fw_mem.mem32[_TIM5 + _CCR1 + 4 * (self._id - 1)] = self._cur

    def _step(self):
        # One 20 ms step towards the destination; True while moving on.
        if self._cur == self._dest:
            return False
        self._dest = min(max(self._dest, self._min), self._max)
        moving = False
        if self._left <= 1:
            self._cur = self._dest
            self._left = 0
        else:
            self._accum += self._dest - self._cur
            self._cur += _div(self._accum, self._left)
            self._accum = _mod(self._accum, self._left)
            self._left -= 1
            moving = True
        self._compare()
        return moving

    def _go(self, dest, time_ms):
        self._dest = dest
        if time_ms is None:
            self._left = 0
        else:
            self._left = time_ms // 20
            self._accum = 0
        _updates._tick()

    def pulse_width(self, value=None):
        if value is None:
            return 10 * self._cur
        self._go(value // 10 & 0xFFFF, None)

    def angle(self, angle=None, time=None):
        if angle is None:
            return _div((self._cur - self._centre) * 90, self._angle_90)
        self._go(self._centre + int(self._angle_90 * angle / 90), time)

    def speed(self, speed=None, time=None):
        if speed is None:
            return _div((self._cur - self._centre) * 100, self._speed_100)
        self._go(self._centre + int(self._speed_100 * speed / 100), time)

    def calibration(self, *args):
        if not args:
            return (10 * self._min, 10 * self._max, 10 * self._centre,
                    10 * (self._angle_90 + self._centre), 10 * (self._speed_100 + self._centre))
        if len(args) in (3, 5):
            # Kept in bytes, as servo.c's fields are.
            self._min, self._max, self._centre = (a // 10 & 0xFF for a in args[:3])
            if len(args) == 5:
                self._angle_90 = args[3] // 10 - self._centre & 0xFF
                self._speed_100 = args[4] // 10 - self._centre & 0xFF
            return
        raise TypeError("calibration expecting 1, 4 or 6 arguments, got %d" % (len(args) + 1))

    def __repr__(self):
        return "<Servo %d at %dus>" % (self._id, 10 * self._cur)


def servo(port, value):
    # pyb.servo (legacy): servo `port`'s compare register, 50..250 (10 us
    # ticks), set directly.
    if 1 <= port <= 4:
        fw_mem.mem32[_TIM5 + _CCR1 + 4 * (port - 1)] = min(max(value, 50), 250)


def pwm(period, pulse):
    # pyb.pwm (legacy): TIM5's period and channel 3's pulse, in its ticks.
    fw_mem.mem32[_TIM5 + _ARR] = period
    fw_mem.mem32[_TIM5 + _CCR1 + 8] = pulse
