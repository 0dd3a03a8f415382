# help(): what the board's objects and keys are (the port's help.c covers the
# same), help('modules') listing the modules this board offers in the core's
# layout (py/builtinhelp.c: sorted, column by column, 4 columns of 18), and
# help(obj) as py/builtinhelp.c prints it on the board, where the firmware is
# C (DESIGN.md decision 12): the core's own help for the core's objects and
# the user's, and the firmware's printed as C ones.  A firmware function is
# `<function>`, of type function; a built-in module lists its dict in the
# board's order (fw_modules); a firmware class or object lists its class's
# names, as a C type's locals dict holds them: no helper, closure cell,
# __module__ or firmware file shows.
from micropython import const
from fw_complete import MODULES

_COLUMNS = const(4)
_WIDTH = const(18)
# The core's frozen modules the board has too (a PYBv1.1 also freezes dht,
# onewire and lcd160cr, which vpyb lacks).
_FROZEN = ("asyncio/__init__", "asyncio/core", "asyncio/event", "asyncio/funcs", "asyncio/lock",
           "asyncio/stream", "uasyncio")
# Our own words for what the board's help() covers (its text is the port's
# prose, ports/stm32/help.c, so it is not reproduced): the board's objects,
# its pin names, the REPL's control keys.
_TEXT = (
    b"MicroPython on a virtual PYBv1.1 (vpyb)\n"
    b"\n"
    b"The board's objects, in module pyb:\n"
    b"  LED(1..4): on(), off(), toggle(), intensity()   Switch(): (), callback(f)\n"
    b"  Pin('X1'), Pin('X1', Pin.OUT): value(), high(), low(), init(), irq()\n"
    b"  ExtInt(pin, mode, pull, callback)   ADC(pin): read(), read_timed(buf, freq)\n"
    b"  DAC(port)   Servo(1..4)   RTC(): datetime()   Accel(): x(), y(), z(), tilt()\n"
    b"  I2C(n), SPI(n), UART(n), Timer(n)   delay(ms), millis(), rng(), info()\n"
    b"\n"
    b"Pin names: X1-X12, X17-X22, Y1-Y12, or the MCU's (A0, B6...)\n"
    b"\n"
    b"Keys at the prompt:\n"
    b"  Ctrl-A  raw REPL        Ctrl-B  normal REPL     Ctrl-C  interrupt\n"
    b"  Ctrl-D  soft reset      Ctrl-E  paste mode\n"
    b"\n"
    b"help(obj) describes an object, help('modules') lists the modules.\n"
)


def make_help(con, core_help):
    # core_help: the core's help(), which prints help(obj) as the board's
    # does for all but the firmware's objects.
    def help(*obj):
        if not obj:
            con.write(_TEXT)
        elif obj[0] == "modules" and len(obj) == 1:
            _modules(con.write)
        elif len(obj) != 1 or not _describe(con.write, obj[0]):
            core_help(*obj)

    return help


def _modules(write):
    names = sorted(MODULES + _FROZEN)
    rows = (len(names) + _COLUMNS - 1) // _COLUMNS
    for i in range(rows):
        j = i
        while True:
            write(names[j])
            gap = _WIDTH - len(names[j])
            j += rows
            if j >= len(names):
                break
            while gap < 1:
                gap += _WIDTH
            write(" " * gap)
        write("\n")
    write("Plus any modules on the filesystem\n")


def _describe(write, o):
    # help(o) for the firmware's objects, as the board prints its C ones;
    # False for any other (the core's help prints those as the board would).
    t = type(o)
    kind = t.__name__
    if kind in ("function", "closure", "bound_method"):
        if not _firmware(o):
            return False
        if kind == "bound_method":
            # The core's repr up to the method's own (it gives no __self__).
            s = repr(o)
            name = o.__name__
            s = s[:max(s.rfind(".<function %s at " % name), s.rfind(".<closure <function %s at " % name))]
            write("object %s.<function>> is of type bound_method\n" % s)
        else:
            write("object <function> is of type function\n")
        return True
    if kind == "module":
        # The board's built-in modules (sys too) and the core's: their dict,
        # in the board's order.  A user's module has a __file__.
        name = getattr(o, "__name__", None)
        if type(name) is not str or name == "__main__" or hasattr(o, "__file__"):
            return False
        entries = o.__dict__.items()
    else:
        # A firmware class, or an object of one: the names a C type's locals
        # dict would hold (its methods and constants, its bases' among them,
        # no private helper).  The first class along the bases with a
        # function tells whose it is, or else with a __module__ (a firmware
        # class the modules offer has none): a class of the user's may
        # derive from one.  A class made by a metaclass, as pyb.LED is,
        # shows an empty __dict__ on this core: its names are read one by one.
        chain = [o if isinstance(o, type) else t]
        for c in chain:
            for base in c.__bases__:
                if base is not object and base not in chain:
                    chain.append(base)
        mine = None
        entries = []
        seen = []
        for c in chain:
            d = c.__dict__ if type(c) is type else None
            for name in dir(c) if d is None else d:
                value = getattr(c, name) if d is None else d[name]
                if mine is None:
                    if hasattr(value, "__globals__"):
                        mine = _firmware(value)
                    elif name == "__module__":
                        mine = type(value) is str and value[:3] == "fw_"
                if (name[:1] != "_" or name in ("__enter__", "__exit__", "__del__")) and name not in seen:
                    seen.append(name)
                    entries.append((name, value))
        if not mine:
            return False
    write("object %s is of type %s\n" % (o, kind))
    for name, value in entries:
        write("  %s -- %s\n" % (name, "<function>" if _firmware(value) else value))
    return True


def _firmware(f):
    # Whether f is a function of the firmware's: its globals came from the
    # folder this module was imported from (a user's file is on /flash or
    # /rom).  A C or viper function has none, and prints as <function>.
    try:
        where = f.__globals__.get("__file__")
    except Exception:
        return False
    home = __file__[:__file__.rfind("/") + 1]
    return type(where) is str and where[:len(home)] == home
