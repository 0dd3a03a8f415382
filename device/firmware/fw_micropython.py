# The board's `micropython` module: the core's, with kbd_intr routed to the
# VCP's tty so the interrupt char is honoured exactly where the board would.
__name__ = "micropython"

import micropython as _mp
from fw_heap import (available as _available, dump_info as _dump_info, dump_map as _dump_map,
                     stack_limit as _stack_limit)

const = _mp.const
heap_lock = _mp.heap_lock
heap_unlock = _mp.heap_unlock
opt_level = _mp.opt_level
qstr_info = _mp.qstr_info
schedule = _mp.schedule
stack_use = _mp.stack_use
RingIO = _mp.RingIO

_console = None
_emergency = [None]


def mem_info(*verbose):
    # py/modmicropython.c as built for stm32: no "mem:" line (MEM_STATS is
    # off there), the stack against its limit, then gc_info of the user's heap.
    if not _available():
        return _mp.mem_info(*verbose)
    if len(verbose) > 1:
        raise TypeError("function expected at most 1 arguments, got %d" % len(verbose))
    out = _console.write
    out("stack: %d out of %d\n" % (_mp.stack_use(), _stack_limit()))
    _dump_info(out)
    if verbose:
        _dump_map(out)


def alloc_emergency_exception_buf(size):
    # The board keeps this buffer on its heap for exceptions raised in an
    # IRQ handler; the core needs none, but the heap is spent as on a board.
    _emergency[0] = bytearray(size) if size > 0 else None


def kbd_intr(chr):
    _console.set_intr(chr)
