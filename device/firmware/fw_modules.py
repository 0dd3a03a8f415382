# The board's built-in modules as user code sees them (DESIGN.md decision
# 12, "the firmware is C to the user").  Each is a module object of its own
# holding the board module's names and nothing else (stm is fw_stm itself,
# which holds nothing else): no firmware helper or module, no __file__, so
# dir(), Tab completion and help(module) show what a board's show, and it
# prints as <module 'time'>.  Its globals dict is ordered as the board's
# ROM dict (help() and __dict__ list the names in that order), then made
# fixed, as a C module's ROM dict is: assigning or deleting an attribute
# fails with the core's own "AttributeError: 'module' object has no
# attribute 'x'" (py/objmodule.c module_attr), and its __dict__ refuses
# changes with TypeError.  The firmware's own modules, which their functions
# hold as __globals__, keep the state and helpers.  The classes the modules
# offer lose __module__ and __qualname__, as a C type has none.
#
# sys is the exception: a board's sys takes assignment of path, ps1 and ps2
# (see fw_sys), which no module made here can, so it is fw_sys.make's object.
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

# The names a PYBv1.1's module holds, in the order of its ROM dict (py/,
# extmod/ and ports/stm32 at the core's date: modgc.c, modio.c, modmachine.c,
# modmicropython.c, modos.c, modpyb.c, modselect.c, modsys.c, modtime.c,
# modvfs.c, with the PYBv1.1's configuration): the board's module offers
# those its firmware module defines, so what the firmware adds later shows
# once it has a board's name, and its own helpers never do.  None: the
# firmware module holds exactly the board's names (fw_stm: the register
# constants).  sys's path, ps1 and ps2 are not in its dict (see fw_sys).
_MODULES = (
    (fw_gc, ("collect", "disable", "enable", "isenabled", "mem_free", "mem_alloc", "threshold")),
    (fw_io, ("open", "IOBase", "StringIO", "BytesIO")),
    (fw_machine, ("mem8", "mem16", "mem32", "unique_id", "soft_reset", "bootloader", "reset", "reset_cause",
                  "idle", "freq", "lightsleep", "deepsleep", "bitstream", "dht_readinto", "time_pulse_us",
                  "Signal", "SoftI2C", "SoftSPI", "ADC", "CAN", "I2C", "I2CTarget", "I2S", "PWM", "SDCard",
                  "SPI", "UART", "WDT", "info", "rng", "sleep", "disable_irq", "enable_irq", "Pin",
                  "RTC", "Timer", "PWRON_RESET", "HARD_RESET", "WDT_RESET", "DEEPSLEEP_RESET", "SOFT_RESET")),
    (fw_micropython, ("const", "opt_level", "mem_info", "qstr_info", "stack_use", "alloc_emergency_exception_buf",
                      "heap_lock", "heap_unlock", "kbd_intr", "RingIO", "schedule")),
    (fw_os, ("sync", "uname", "urandom", "sep", "chdir", "getcwd", "listdir", "mkdir", "remove", "rename",
             "rmdir", "unlink", "stat", "statvfs", "dupterm", "ilistdir", "mount", "umount", "VfsFat",
             "VfsLfs2")),
    (fw_pyb, ("fault_debug", "bootloader", "hard_reset", "info", "unique_id", "freq", "repl_info", "wfi",
              "disable_irq", "enable_irq", "stop", "standby", "main", "repl_uart", "country", "usb_mode",
              "hid_mouse", "hid_keyboard", "USB_HID", "USB_VCP", "have_cdc", "hid", "millis", "elapsed_millis",
              "micros", "elapsed_micros", "delay", "udelay", "sync", "mount", "Timer", "rng", "RTC", "Pin",
              "ExtInt", "pwm", "servo", "Servo", "Switch", "Flash", "SD", "SDCard", "LED", "I2C", "SPI", "UART",
              "CAN", "ADC", "ADCAll", "DAC", "Accel", "LCD")),
    (fw_select, ("select", "poll", "POLLIN", "POLLOUT", "POLLERR", "POLLHUP")),
    (fw_stm, None),
    (fw_sys, ("argv", "version", "version_info", "implementation", "platform", "byteorder", "maxsize", "exit",
              "stdin", "stdout", "stderr", "modules", "print_exception")),
    (fw_time, ("gmtime", "localtime", "mktime", "time", "time_ns", "sleep", "sleep_ms", "sleep_us", "ticks_ms",
               "ticks_us", "ticks_cpu", "ticks_add", "ticks_diff")),
    (fw_vfs, ("mount", "umount", "VfsFat", "VfsLfs2", "VfsRom")),
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
def _flag(d: uint, bit: uint):
    # mp_obj_dict_t: base, then mp_map_t whose first word holds the flags
    # all_keys_are_qstrs (bit 0), is_fixed (bit 1), is_ordered (bit 2).
    p = ptr32(d)
    p[2] = p[2] | bit


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
    global _MODULES
    out = {}
    for impl, names in _MODULES:
        if names is None:
            m = impl
            m.__dict__.pop("__file__")
        else:
            # The blank's dict, emptied, becomes an ordered one (an empty
            # map holds no table to rearrange: py/map.c then appends each
            # new key), filled in the board's order.  setattr interns each
            # name, as the keys of a ROM dict are qstrs.
            m = _blanks.pop()
            d = m.__dict__
            d.clear()
            _flag(id(d), 4)
            m.__name__ = impl.__name__
            for name in names:
                if hasattr(impl, name):
                    v = getattr(impl, name)
                    if isinstance(v, type):
                        _as_c_type(v)
                    setattr(m, name, v)
        _flag(id(m.__dict__), 2)  # fixed
        if impl is fw_sys:
            m = fw_sys.make(m)
        out[impl.__name__] = m
    builtins.__dict__.pop("__file__", None)
    out["builtins"] = builtins
    _MODULES = None  # used once: its memory is the heap's again before the pristine point
    return out
