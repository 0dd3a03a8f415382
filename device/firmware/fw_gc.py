# The board's `gc` module: the core's collector, with the heap figures of
# the user's part of the pool (fw_heap) rather than the whole core's.
__name__ = "gc"

import gc as _gc
from fw_heap import available as _available, free as _free, used as _used

disable = _gc.disable
enable = _gc.enable
isenabled = _gc.isenabled
threshold = _gc.threshold


def collect():
    # None, as on the board (the core's returns what it freed).
    _gc.collect()


def mem_free():
    return _free() if _available() else _gc.mem_free()


def mem_alloc():
    return _used() if _available() else _gc.mem_alloc()
