# The board's built-in modules as user code sees them (DESIGN.md decision
# 12, "the firmware is C to the user").  Each is a module object of its own
# holding the board module's names and nothing else (stm is fw_stm itself,
# which holds nothing else): no firmware helper or module, no __file__, so
# dir(), Tab completion and help(module) show what a board's show, and it
# prints as <module 'time'>.  Its globals dict is then made fixed, as a C
# module's ROM dict is: assigning or deleting an attribute fails with the
# core's own "AttributeError: 'module' object has no attribute 'x'"
# (py/objmodule.c module_attr), and its __dict__ refuses changes with
# TypeError.  The firmware's own modules, which their functions hold as
# __globals__, keep the state and helpers.  The classes the modules offer
# lose __module__ and __qualname__, as a C type has none.
#
# A C module can still take the few names its port delegates (sys.ps1 and
# sys.ps2 on a board, MICROPY_MODULE_ATTR_DELEGATION): the core offers no
# hook for a module made in Python, so here they are read-only like the rest.
# builtins stays writable: on the board `builtins.x = v` overrides a builtin
# for all code (MICROPY_CAN_OVERRIDE_BUILTINS; fw_heap.adopt_builtins).
import micropython
from sys import modules
import fw_gc
import fw_io
import fw_machine
import fw_micropython
import fw_os
import fw_pyb
import fw_select
import fw_stm
import fw_sys
import fw_time
import fw_vfs

# The names a PYBv1.1's module holds (ports/stm32, docs/library): the
# board's module offers those its firmware module defines, so what the
# firmware adds later shows once it has a board's name, and its own helpers
# never do.  None: the firmware module holds exactly the board's names
# (fw_stm: the register constants).
_MODULES = (
    (fw_gc, ("collect", "disable", "enable", "isenabled", "mem_alloc", "mem_free", "threshold")),
    (fw_io, ("BytesIO", "IOBase", "StringIO", "open")),
    (fw_machine, ("ADC", "CAN", "DEEPSLEEP", "DEEPSLEEP_RESET", "HARD_RESET", "I2C", "I2CTarget", "I2S",
                  "IDLE", "PWM", "PWRON_RESET", "Pin", "RTC", "SDCard", "SLEEP", "SOFT_RESET", "SPI",
                  "Signal", "SoftI2C", "SoftSPI", "Timer", "UART", "USBDevice", "WDT", "WDT_RESET",
                  "bitstream", "bootloader", "deepsleep", "disable_irq", "enable_irq", "freq", "idle",
                  "info", "lightsleep", "mem16", "mem32", "mem8", "reset", "reset_cause", "rng", "sleep",
                  "soft_reset", "time_pulse_us", "unique_id")),
    (fw_micropython, ("RingIO", "alloc_emergency_exception_buf", "const", "heap_lock", "heap_unlock",
                      "kbd_intr", "mem_info", "opt_level", "qstr_info", "schedule", "stack_use")),
    (fw_os, ("VfsFat", "VfsLfs2", "chdir", "dupterm", "getcwd", "ilistdir", "listdir", "mkdir", "mount",
             "remove", "rename", "rmdir", "sep", "stat", "statvfs", "sync", "umount", "uname", "unlink",
             "urandom")),
    (fw_pyb, ("ADC", "ADCAll", "Accel", "CAN", "DAC", "ExtInt", "Flash", "I2C", "LCD", "LED", "Pin", "RTC",
              "SD", "SDCard", "SPI", "Servo", "Switch", "Timer", "UART", "USB_HID", "USB_VCP",
              "bootloader", "country", "delay", "dht_readinto", "disable_irq", "elapsed_micros",
              "elapsed_millis", "enable_irq", "fault_debug", "freq", "hard_reset", "have_cdc", "hid",
              "hid_keyboard", "hid_mouse", "info", "main", "micros", "millis", "mount", "pwm",
              "repl_info", "repl_uart", "rng", "servo", "standby", "stop", "sync", "udelay", "unique_id",
              "usb_mode", "wfi")),
    (fw_select, ("POLLERR", "POLLHUP", "POLLIN", "POLLOUT", "poll", "select")),
    (fw_stm, None),
    (fw_sys, ("argv", "byteorder", "exit", "implementation", "maxsize", "modules", "path", "platform",
              "print_exception", "ps1", "ps2", "stderr", "stdin", "stdout", "version", "version_info")),
    (fw_time, ("gmtime", "localtime", "mktime", "sleep", "sleep_ms", "sleep_us", "ticks_add",
               "ticks_cpu", "ticks_diff", "ticks_ms", "ticks_us", "time", "time_ns")),
    (fw_vfs, ("VfsFat", "VfsLfs2", "VfsRom", "mount", "umount")),
)


def _blank():
    # The core makes no module from Python ("can't create 'module'
    # instances"): importing the ROM's empty module anew does.  Done at
    # import, while the firmware's ROM is still mounted.
    m = __import__("fw_blank")
    del modules["fw_blank"]
    return m


_blanks = [_blank() for _, names in _MODULES if names is not None]


@micropython.viper
def _fix(d: uint):
    # mp_obj_dict_t: base, then mp_map_t whose first word holds the flags
    # all_keys_are_qstrs (bit 0), is_fixed (bit 1), is_ordered (bit 2).
    p = ptr32(d)
    p[2] = p[2] | 2


def _as_c_type(cls):
    # A C type's dict has no __module__ or __qualname__: the firmware's
    # classes (and their firmware bases) lose theirs, which help() would
    # list, naming a firmware module.
    d = cls.__dict__  # (a copy, on this core)
    for name in ("__module__", "__qualname__"):
        if name in d:
            delattr(cls, name)
    for base in cls.__bases__:
        _as_c_type(base)


def make(builtins):
    # {name: module} of every built-in module the firmware provides, for
    # `import` (fw_imports.make_import).  Called once at boot, once the
    # firmware modules' state is bound (sys.stdin, io.open...): a value is
    # taken now, and the module can't be changed afterwards.
    out = {}
    for impl, names in _MODULES:
        m = impl if names is None else _blanks.pop()
        m.__dict__.pop("__file__")
        if names is not None:
            m.__name__ = impl.__name__
            for name in names:
                if not hasattr(impl, name):
                    continue
                v = getattr(impl, name)
                if isinstance(v, type):
                    _as_c_type(v)
                setattr(m, name, v)
        _fix(id(m.__dict__))
        out[impl.__name__] = m
    builtins.__dict__.pop("__file__", None)
    out["builtins"] = builtins
    return out
