# The board's `select` module: extmod/modselect.c as the stm32 port builds
# it.  Its poll objects and select() take streams only: an fd number is not
# a stream there ("stream operation not supported"), while the core, built
# for a POSIX port (MICROPY_PY_SELECT_POSIX_OPTIMISATIONS), polls any fd
# number and has no select().  The core's select is only read here.
__name__ = "select"

from select import POLLERR, POLLHUP, POLLIN, POLLOUT, poll as _poll
# Bound now: user code may replace any builtin.
from builtins import OSError, id, int, isinstance

_RD_WR = POLLIN | POLLOUT


class poll:
    def __init__(self):
        self._p = _poll()

    def __repr__(self):
        return "<poll>"

    def register(self, obj, eventmask=_RD_WR):
        if isinstance(obj, int):
            raise OSError("stream operation not supported")
        self._p.register(obj, eventmask)

    def unregister(self, obj):
        self._p.unregister(obj)

    def modify(self, obj, eventmask):
        self._p.modify(obj, eventmask)

    def poll(self, timeout=-1):
        return self._p.poll(timeout)

    def ipoll(self, timeout=-1, flags=0):
        return self._p.ipoll(timeout, flags)


def select(rlist, wlist, xlist, timeout=None):
    # Ready objects of each list, as lists; timeout in seconds, None for
    # ever.  An object in several lists is polled once for all of them.
    masks = {}
    objs = {}
    for objects, mask in ((rlist, POLLIN), (wlist, POLLOUT), (xlist, POLLERR | POLLHUP)):
        for obj in objects:
            objs[id(obj)] = obj
            masks[id(obj)] = masks.get(id(obj), 0) | mask
    p = poll()
    for k, mask in masks.items():
        p.register(objs[k], mask)
    out = ([], [], [])
    for obj, ev in p.poll(-1 if timeout is None or timeout < 0 else int(timeout * 1000)):
        if ev & POLLIN:
            out[0].append(obj)
        if ev & POLLOUT:
            out[1].append(obj)
        if ev & ~_RD_WR:
            out[2].append(obj)
    return out
