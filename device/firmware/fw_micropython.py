# The board's `micropython` module: the core's, with kbd_intr routed to the
# VCP's tty so the interrupt char is honoured exactly where the board would.
__name__ = "micropython"

import micropython as _mp

const = _mp.const
heap_lock = _mp.heap_lock
heap_unlock = _mp.heap_unlock
mem_info = _mp.mem_info
opt_level = _mp.opt_level
qstr_info = _mp.qstr_info
schedule = _mp.schedule
stack_use = _mp.stack_use
RingIO = _mp.RingIO

_console = None


def kbd_intr(chr):
    _console.set_intr(chr)
