# help(): what the board's objects and keys are (the port's help.c covers the same),
# help('modules') listing the modules this board offers in the core's
# layout (py/builtinhelp.c: sorted, column by column, 4 columns of 18),
# and help(obj) the core's own.
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
    # core_help: the core's help(), which prints help(obj) as the board's does.
    def help(*obj):
        if not obj:
            con.write(_TEXT)
        elif obj[0] == "modules" and len(obj) == 1:
            _modules(con.write)
        else:
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
