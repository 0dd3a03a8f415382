# help(): the stm32 port's text (ports/stm32/help.c, as a PYBv1.1 prints it),
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
_TEXT = (
    b"Welcome to MicroPython!\n"
    b"\n"
    b"For online docs please visit http://docs.micropython.org/\n"
    b"\n"
    b"Quick overview of commands for the board:\n"
    b"  pyb.info()    -- print some general information\n"
    b"  pyb.delay(n)  -- wait for n milliseconds\n"
    b"  pyb.millis()  -- get number of milliseconds since hard reset\n"
    b"  pyb.Switch()  -- create a switch object\n"
    b"                   Switch methods: (), callback(f)\n"
    b"  pyb.LED(n)    -- create an LED object for LED n (n=1,2,3,4)\n"
    b"                   LED methods: on(), off(), toggle(), intensity(<n>)\n"
    b"  pyb.Pin(pin)  -- get a pin, eg pyb.Pin('X1')\n"
    b"  pyb.Pin(pin, m, [p]) -- get a pin and configure it for IO mode m, pull mode p\n"
    b"                   Pin methods: init(..), value([v]), high(), low()\n"
    b"  pyb.ExtInt(pin, m, p, callback) -- create an external interrupt object\n"
    b"  pyb.ADC(pin)  -- make an analog object from a pin\n"
    b"                   ADC methods: read(), read_timed(buf, freq)\n"
    b"  pyb.DAC(port) -- make a DAC object\n"
    b"                   DAC methods: triangle(freq), write(n), write_timed(buf, freq)\n"
    b"  pyb.RTC()     -- make an RTC object; methods: datetime([val])\n"
    b"  pyb.rng()     -- get a 30-bit hardware random number\n"
    b"  pyb.Servo(n)  -- create Servo object for servo n (n=1,2,3,4)\n"
    b"                   Servo methods: calibration(..), angle([x, [t]]), speed([x, [t]])\n"
    b"  pyb.Accel()   -- create an Accelerometer object\n"
    b"                   Accelerometer methods: x(), y(), z(), tilt(), filtered_xyz()\n"
    b"\n"
    b"Pins are numbered X1-X12, X17-X22, Y1-Y12, or by their MCU name\n"
    b"Pin IO modes are: pyb.Pin.IN, pyb.Pin.OUT, pyb.Pin.OPEN_DRAIN\n"
    b"Pin pull modes are: None, pyb.Pin.PULL_UP, pyb.Pin.PULL_DOWN\n"
    b"Additional serial bus objects: pyb.I2C(n), pyb.SPI(n), pyb.UART(n)\n"
    b"\n"
    b"Control commands:\n"
    b"  CTRL-A        -- on a blank line, enter raw REPL mode\n"
    b"  CTRL-B        -- on a blank line, enter normal REPL mode\n"
    b"  CTRL-C        -- interrupt a running program\n"
    b"  CTRL-D        -- on a blank line, do a soft reset of the board\n"
    b"  CTRL-E        -- on a blank line, enter paste mode\n"
    b"\n"
    b"For further help on a specific object, type help(obj)\n"
    b"For a list of available modules, type help('modules')\n"
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
