# Who the board says it is (pyboard-facts.md section 1), built from the
# version of the MicroPython core actually running.
import sys

_real_impl = sys.implementation
_v = _real_impl.version
RELEASE = "%d.%d.%d" % _v[:3] + ("-" + _v[3] if len(_v) > 3 and _v[3] else "")
_DATE = sys.version.split(" on ")[-1] if " on " in sys.version else "2000-01-01"
TAG = "v" + RELEASE
MACHINE = "PYBv1.1 with STM32F405RG"
BANNER = "MicroPython %s on %s; %s\nType \"help()\" for more information.\n" % (TAG, _DATE, MACHINE)
VERSION = "%s on %s" % (TAG, _DATE)


class AttrTuple:
    # Looks like the core's attrtuple: a tuple with named fields.
    def __init__(self, names, values):
        self._names = names
        self._values = values
        for n, v in zip(names, values):
            setattr(self, n, v)

    def __getitem__(self, i):
        return self._values[i]

    def __len__(self):
        return len(self._values)

    def __iter__(self):
        return iter(self._values)

    def __repr__(self):
        return "(" + ", ".join("%s=%r" % nv for nv in zip(self._names, self._values)) + ")"


uname = AttrTuple(
    ("sysname", "nodename", "release", "version", "machine"),
    ("pyboard", "pyboard", RELEASE, VERSION, MACHINE),
)

# _mpy is the core's own: native code on this board is the host's arch.
implementation = AttrTuple(
    ("name", "version", "_machine", "_mpy", "_build"),
    ("micropython", _v, MACHINE, _real_impl._mpy, "PYBV11"),
)
del sys, _real_impl  # the core's sys holds the console's files
