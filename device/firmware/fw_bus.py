# Peripheral ids as the stm32 port takes them, one object per unit, IRQs,
# and the waits a transfer's line time takes.
import micropython
import time
import fw_side
from fw_side import heap_locked
from fw_traceback import print_exception
from micropython import const

_SPIN_US = const(300)  # the end of a wait, timed by polling the clock


def wait_until(due):
    # Until time.ticks_us() reaches `due`, handling the host's events while
    # more than a few milliseconds are left (a poll's wakeup comes a
    # millisecond late or so); the end is timed to a few us, as a bus's last
    # bit is: a sleep would overshoot it by a scheduler's tick.
    while True:
        left = time.ticks_diff(due, time.ticks_us())
        if left > 3000:
            fw_side.idle((left - 2000) // 1000)
        elif left > _SPIN_US:
            time.sleep_us(left - _SPIN_US)
        elif left > 0:
            pass
        else:
            return


def line_time(start, nbits, baud):
    # Waits until nbits at baud have gone out since `start` (ticks_us).
    wait_until(time.ticks_add(start, nbits * 1000000 // baud))


def unit(kind, id, names, valid):
    # An int unit number from an int or a board name, else the board's error.
    if isinstance(id, str):
        for name, n in names:
            if name == id:
                return n
        raise ValueError("%s(%s) doesn't exist" % (kind, id))
    if id not in valid:
        raise ValueError("%s(%d) doesn't exist" % (kind, id))
    return id


def single(cls, table, key):
    # The object for a unit (`_id`, off until init): created once, as the
    # port's static objects are.
    o = table.get(key)
    if o is None:
        o = object.__new__(cls)
        o._id = key
        o._on = False
        table[key] = o
    return o


class Unmodelled:
    # A class the board has but vpyb does not model: using it says so.
    def __init__(self, *args, **kw):
        raise NotImplementedError("%s is not modelled on the virtual board" % self._what)


def unmodelled(name):
    return type(name, (Unmodelled,), {"_what": name})


# Run after each hard IRQ, the heap unlocked again: what a handler changed
# but could not tell the host (fw_timer.sync).
after_hard_irq = [None]


class Irq:
    # What .irq() returns (shared/runtime/mpirq.c): a hard handler runs at
    # once with the heap locked, a soft one is scheduled.
    def __init__(self, handler, trigger, hard, arg, label):
        self.handler = handler
        self._trigger = trigger
        self.hard = hard
        self.arg = arg
        self.label = label
        self.enabled = True
        self._flags = 0
        self._scheduled = self._run_soft  # made once: firing allocates nothing

    def trigger(self, t=None):
        if t is None:
            return self._trigger
        self._trigger = t

    def flags(self):
        return self._flags

    def fire(self, flags=0):
        self._flags = flags
        if self.handler is None or not self.enabled:
            return
        if not self.hard:
            micropython.schedule(self._scheduled, self.arg)
            return
        micropython.heap_lock()
        try:
            self.handler(self.arg)
        except Exception as e:
            micropython.heap_unlock()
            print("uncaught exception in %s" % self.label)
            print_exception(e)
            self.enabled = False
        else:
            micropython.heap_unlock()
        after_hard_irq[0]()

    def _run_soft(self, arg):
        # The core's scheduler prints what a scheduled call raises, frames
        # and all (py/scheduler.c): the handler's is printed here, as the
        # board's would be, with the firmware's frames out.  Anything else
        # (the firmware's HardReset) is raised on.
        handler = self.handler
        if handler is None:
            return
        try:
            handler(arg)
        except BaseException as e:
            if not isinstance(e, (Exception, KeyboardInterrupt, SystemExit)):
                raise
            print_exception(e)
