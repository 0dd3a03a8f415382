# Who the board says it is (pyboard-facts.md section 1), built from the
# version of the MicroPython core actually running.
import sys
from array import array
from collections import namedtuple
from fw_heap import _set_word as set_word, _word as word

_real_impl = sys.implementation
_v = _real_impl.version
RELEASE = "%d.%d.%d" % _v[:3] + ("-" + _v[3] if len(_v) > 3 and _v[3] else "")
_DATE = sys.version.split(" on ")[-1] if " on " in sys.version else "2000-01-01"
TAG = "v" + RELEASE
MACHINE = "PYBv1.1 with STM32F405RG"
BANNER = "MicroPython %s on %s; %s\nType \"help()\" for more information.\n" % (TAG, _DATE, MACHINE)
VERSION = "%s on %s" % (TAG, _DATE)


class _Names:
    pass


def _attrtuple(names, values):
    # The core's attrtuple (py/objattrtuple.c), which os.uname() and
    # sys.implementation are on the board: a tuple to "%s" % u and
    # iteration, printed as (name=value, ...), with u.name.  The core makes
    # them only in C: here a new tuple (mp_obj_tuple_t: type, len, items)
    # one item longer becomes one, taking the type of the core's own
    # sys.implementation and, after its items, the address of its field
    # names as qstr numbers (an array the tuple's block keeps alive).
    for name in names:
        setattr(_Names, name, None)  # interns the names
    impl = _real_impl
    if (word(id(impl), 0) != id(type(impl)) or word(id(impl), 1) != len(impl)
            or any(id(k) & 7 != 2 for k in _Names.__dict__)):  # qstr objects of MICROPY_OBJ_REPR_A
        # Not this core's layout: a namedtuple is alike but for its type.
        return namedtuple("", names)(*values)
    fields = array("Q", (id(k) >> 3 for name in names for k in _Names.__dict__ if k == name))
    t = tuple(list(values) + [None])
    n = len(names)
    set_word(id(t), 0, word(id(impl), 0))
    set_word(id(t), 1, n)
    set_word(id(t), 2 + n, word(id(fields), 3))  # mp_obj_array_t: base, typecode, len, items
    return t


uname = _attrtuple(
    ("sysname", "nodename", "release", "version", "machine"),
    ("pyboard", "pyboard", RELEASE, VERSION, MACHINE),
)

# _mpy is the core's own: native code on this board is the host's arch.
implementation = _attrtuple(
    ("name", "version", "_machine", "_mpy", "_build"),
    ("micropython", _v, MACHINE, _real_impl._mpy, "PYBV11"),
)
del sys, _real_impl, _Names  # the core's sys holds the console's files
