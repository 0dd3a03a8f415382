"""The firmware is C to the user (DESIGN.md decision 12), seen through a
board's pty as a person and the tools see it: Tab completion, tracebacks,
help(), dir() and the built-in modules themselves show what a PYBv1.1 shows,
never the firmware's own Python."""
from __future__ import annotations

import re
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import Terminal, mpremote


# The built-in modules the firmware provides in place of the core's.
MODULES = ("gc", "io", "machine", "micropython", "os", "pyb", "stm", "sys", "time", "vfs")
# What a C module's dir() holds besides its own names (MICROPY_CPYTHON_COMPAT).
MODULE_DUNDERS = {"__class__", "__name__", "__dict__"}
TIME_NAMES = ["gmtime", "localtime", "mktime", "sleep", "sleep_ms", "sleep_us", "ticks_add", "ticks_cpu",
              "ticks_diff", "ticks_ms", "ticks_us", "time", "time_ns"]
# A user's module whose function calls into the firmware, which calls back
# into the user's code, which raises: the firmware's frames lie between.
NAPPER = ("import time\n"
          "class X:\n"
          "    def __mul__(self, o):\n"
          "        raise ValueError('late')\n"
          "\n"
          "def nap():\n"
          "    time.sleep(X())\n")
NAPPER_FRAMES = ('  File "napper.py", line 7, in nap\r\n'
                 '  File "napper.py", line 4, in __mul__\r\n'
                 'ValueError: late\r\n')
TRACEBACK = "Traceback (most recent call last):\r\n"


def listed(term, text: bytes) -> list[str]:
    """The names Tab lists after `text` at the friendly prompt."""
    out = term.exchange(text + b"\t", b">>> " + text)
    term.exchange(b"\x03", b">>> ")
    return out[len(text):-len(text) - 4].decode().split()  # between the echo and the prompt again


def core_says(code: str) -> str:
    """The last line the plain core (the wheel's unix port) prints for code."""
    r = subprocess.run([str(Path(sys.executable).parent / "micropython"), "-c", code],
                       capture_output=True, text=True, timeout=30)
    return (r.stdout + r.stderr).strip().splitlines()[-1]


def test_tab_completion_offers_the_modules_names_only(term):
    term.exchange(b"import time, pyb, machine, stm\r", b">>> ")
    assert listed(term, b"time.") == TIME_NAMES
    for module in (b"pyb.", b"machine."):
        names = listed(term, module)
        assert "Pin" in names and "UART" in names, names
        assert not [n for n in names if n.startswith(("_", "fw_")) or n in ("const", "HardReset")], names
    # stm's register constants are the module's names, as in the port's ROM dict.
    assert listed(term, b"stm.GPIO") == [
        "GPIOA", "GPIOB", "GPIOC", "GPIOD", "GPIOE", "GPIOF", "GPIOG", "GPIOH", "GPIOI", "GPIO_AFR0",
        "GPIO_AFR1", "GPIO_BSRR", "GPIO_BSRRH", "GPIO_BSRRL", "GPIO_IDR", "GPIO_LCKR", "GPIO_MODER",
        "GPIO_ODR", "GPIO_OSPEEDR", "GPIO_OTYPER", "GPIO_PUPDR"]
    # After "import ": the board's modules (stm too), no firmware module.
    assert listed(term, b"import s") == ["select", "stm", "struct", "sys"]


def test_ctrl_c_in_time_sleep_shows_the_users_frame_only(term):
    term.exchange(b"import time\r", b">>> ")
    term.exchange(b"time.sleep(30)\r", b"time.sleep(30)\r\n")
    time.sleep(0.3)
    assert term.exchange(b"\x03", b">>> ") == (
        b'Traceback (most recent call last):\r\n  File "<stdin>", line 1, in <module>\r\n'
        b"KeyboardInterrupt: \r\n>>> ")


def test_an_error_raised_inside_the_firmware_shows_the_users_frame_only(repl):
    out, err = repl.exec_raw("from machine import I2C\nI2C(1).readfrom(0x33, 1)")
    assert err.decode() == (TRACEBACK + '  File "<stdin>", line 2, in <module>\r\n'
                            "OSError: [Errno 19] ENODEV\r\n")
    # sys.print_exception (to a stream of the user's, too) prints the same.
    out = repl.exec("import sys, io\n"
                    "try:\n    I2C(1).readfrom(0x33, 1)\nexcept OSError as e:\n    err = e\n"
                    "sys.print_exception(err)\ns = io.StringIO()\nsys.print_exception(err, s)\n"
                    "print(repr(s.getvalue()))")
    text = TRACEBACK + '  File "<stdin>", line 3, in <module>\r\nOSError: [Errno 19] ENODEV\r\n'
    assert out.decode() == text + repr(text.replace("\r\n", "\n")) + "\r\n"


def test_the_users_files_keep_their_frames(board):
    # An imported file's and main.py's frames stay, the firmware's go.
    mpremote(board.port, "exec", f"open('napper.py', 'w').write({NAPPER!r})\n"
             "open('main.py', 'w').write('import napper\\nnapper.nap()\\n')")
    r = mpremote(board.port, "exec", "import napper\nnapper.nap()", check=False)
    assert r.stdout + r.stderr == (TRACEBACK + '  File "<stdin>", line 2, in <module>\r\n'
                                   + NAPPER_FRAMES).replace("\r\n", "\n")
    term = Terminal(board.port)
    try:
        term.exchange(b"\r\x03", b">>> ")
        term.read_for(0.2)
        out = term.exchange(b"\x04", b">>> ").decode()
    finally:
        term.close()
    assert TRACEBACK + '  File "main.py", line 2, in <module>\r\n' + NAPPER_FRAMES in out, out
    assert "fw_" not in out


def test_a_frozen_modules_frames_stay(start_board, tmp_path):
    (tmp_path / "napper.py").write_text(NAPPER)
    b = start_board("--ephemeral", "--freeze", str(tmp_path))
    r = mpremote(b.port, "exec", "import napper\nnapper.nap()", check=False)
    assert r.stdout + r.stderr == (TRACEBACK + '  File "<stdin>", line 2, in <module>\r\n'
                                   + NAPPER_FRAMES).replace("\r\n", "\n")


def test_an_irq_handlers_error_shows_the_handlers_frames_only(repl):
    # A soft handler's error is printed and the program goes on (py/scheduler.c).
    out, err = repl.exec_raw(
        "import machine, time\n"
        "p = machine.Pin('X1', machine.Pin.OUT)\n"
        "def soft(p):\n    machine.I2C(1).readfrom(0x33, 1)\n"
        "p.irq(soft, machine.Pin.IRQ_RISING)\n"
        "p.value(1)\ntime.sleep_ms(50)\nprint('on')")
    assert (out, err) == ((TRACEBACK + '  File "<stdin>", line 4, in soft\r\n'
                           "OSError: [Errno 19] ENODEV\r\non\r\n").encode(), b"")


def test_a_traceback_prints_in_a_locked_heap(repl):
    # The firmware's frames go without an allocation: with the heap locked
    # (any allocation raises MemoryError), the exception still prints.
    out = repl.exec("import sys, time, micropython\n"
                    "class X:\n    def __mul__(self, o):\n        raise ValueError('v')\n"
                    "try:\n    time.sleep(X())\nexcept ValueError as e:\n    err = e\n"
                    "micropython.heap_lock()\nsys.print_exception(err)\nmicropython.heap_unlock()")
    assert out.decode() == (TRACEBACK + '  File "<stdin>", line 6, in <module>\r\n'
                            '  File "<stdin>", line 4, in __mul__\r\nValueError: v\r\n')


def test_builtin_modules_print_as_the_boards_and_have_no_file(repl):
    assert repl.eval(f"[repr(__import__(m)) for m in {MODULES!r}]") == [f"<module '{m}'>" for m in MODULES]
    assert repl.eval(f"[m for m in {MODULES!r} if hasattr(__import__(m), '__file__')]") == []
    assert repl.eval("repr(__import__('utime'))") == "<module 'time'>"


@pytest.mark.parametrize("name", MODULES)
def test_builtin_modules_refuse_attribute_assignment(repl, name):
    # The plain core's own words for its C module's refusal.
    refusal = core_says("import sys\nsys.x = 1")
    assert refusal == "AttributeError: 'module' object has no attribute 'x'"
    first = repl.eval(f"[n for n in dir(__import__({name!r})) if n[:2] != '__'][0]")
    for attack, words in (("m.x = 1", refusal),
                          (f"m.{first} = 1", refusal.replace("'x'", f"'{first}'")),
                          (f"del m.{first}", refusal.replace("'x'", f"'{first}'")),
                          ("m.__dict__['x'] = 1", "TypeError: "),
                          ("m.__dict__.clear()", "TypeError: ")):
        out, err = repl.exec_raw(f"m = __import__({name!r})\n{attack}")
        assert err.decode().strip().splitlines()[-1] == words.strip(), attack
    assert repl.eval(f"hasattr(__import__({name!r}), {first!r}) and not hasattr(__import__({name!r}), 'x')")


def test_builtins_still_take_new_names_as_on_the_board(repl):
    assert repl.exec("import builtins\nbuiltins.answer = 42\nprint(answer)") == b"42\r\n"


def test_dir_and_help_of_the_modules_name_nothing_of_the_firmware(repl):
    assert repl.eval("sorted(dir(__import__('time')))") == sorted(MODULE_DUNDERS) + TIME_NAMES
    for name in MODULES:
        names = repl.eval(f"dir(__import__({name!r}))")
        assert not [n for n in names if n[:1] == "_" and n not in MODULE_DUNDERS], (name, names)
        assert not [n for n in names if n.startswith("fw_")], (name, names)
        text = repl.exec(f"help(__import__({name!r}))").decode()
        assert text.startswith(f"object <module '{name}'> is of type module\r\n")
        entries = [line.split(" -- ")[0].strip() for line in text.splitlines()[1:]]
        assert not [n for n in entries if n[:1] == "_" and n != "__name__"], (name, entries)
        assert "fw_" not in text and "/fw/" not in text, text
    assert "GPIOA" in repl.eval("dir(__import__('stm'))")
    assert repl.eval("__import__('micropython').alloc_emergency_exception_buf(100)") is None
    # A class's help() lists no module (a C type has no __module__).
    for cls in ("pyb.LED", "pyb.Pin", "machine.I2C", "machine.Signal"):
        text = repl.exec(f"import pyb, machine\nhelp({cls})").decode()
        assert "__module__" not in text and "fw_" not in text, text


# help(micropython) on a PYBv1.1: its ROM dict in order (py/modmicropython.c
# with the stm32 port's configuration), every function a C one.
MICROPYTHON_HELP = ["object <module 'micropython'> is of type module", "  __name__ -- micropython",
                    "  const -- <function>", "  opt_level -- <function>", "  mem_info -- <function>",
                    "  qstr_info -- <function>", "  stack_use -- <function>",
                    "  alloc_emergency_exception_buf -- <function>", "  heap_lock -- <function>",
                    "  heap_unlock -- <function>", "  kbd_intr -- <function>", "  RingIO -- <class 'RingIO'>",
                    "  schedule -- <function>"]


def test_help_of_the_firmwares_objects_prints_them_as_c(repl):
    # upstream basics/builtin_help.py's cases, and the like for the board's own objects.
    def help_of(expression: str) -> list[str]:
        return repl.exec(f"import micropython, pyb, sys, time\nhelp({expression})").decode().split("\r\n")[:-1]

    for function in ("help", "open", "input", "__import__", "time.sleep", "sys.print_exception", "print"):
        assert help_of(function) == ["object <function> is of type function"], function
    assert help_of("micropython") == MICROPYTHON_HELP
    assert help_of("time") == ["object <module 'time'> is of type module", "  __name__ -- time"] + [
        f"  {n} -- <function>" for n in ("gmtime", "localtime", "mktime", "time", "time_ns", "sleep",
                                         "sleep_ms", "sleep_us", "ticks_ms", "ticks_us", "ticks_cpu",
                                         "ticks_add", "ticks_diff")]
    led_methods = sorted(f"  {n} -- <function>" for n in ("on", "off", "toggle", "intensity"))
    for led, kind in (("pyb.LED", "<class 'LED'> is of type type"), ("pyb.LED(1)", "LED(1) is of type LED")):
        lines = help_of(led)
        assert lines[0] == "object " + kind and sorted(lines[1:]) == led_methods, lines
    assert re.fullmatch(r"object <bound_method [0-9a-f]+ LED\(1\)\.<function>> is of type bound_method",
                        "\n".join(help_of("pyb.LED(1).on")))
    lines = help_of("sys.stdout")
    assert lines[0] == "object <io.TextIOWrapper 1> is of type TextIOWrapper"
    assert "  write -- <function>" in lines and not [n for n in lines[1:] if n.strip()[:1] == "_"], lines
    # The core's help for the core's objects and the user's, as on the board.
    assert help_of("int") == ["object <class 'int'> is of type type", "  from_bytes -- <classmethod>",
                              "  to_bytes -- <function>"]
    lines = repl.exec("def f():\n    pass\nclass A:\n    y = 2\n    def _m(self):\n        pass\n"
                      "help(f)\nhelp(A)").decode().split("\r\n")
    assert re.fullmatch(r"object <function f at 0x[0-9a-f]+> is of type function", lines[0]), lines
    assert lines[1] == "object <class 'A'> is of type type" and "  __module__ -- __main__" in lines, lines
    assert [n for n in lines if n.startswith("  _m -- <function _m at 0x")], lines


def test_help_covers_what_the_boards_does(repl):
    # The board's objects, its pin names and the REPL's keys, in vpyb's own
    # words (the port's text is its prose), with \r\n line ends.
    text = repl.exec("help()").decode()
    for part in ("pyb", "LED(1..4)", "Pin('X1')", "ADC(pin)", "Accel()", "X1-X12", "Y1-Y12",
                 "Ctrl-A  raw REPL", "Ctrl-D  soft reset", "Ctrl-E  paste mode", "help('modules')"):
        assert part in text, part
    assert "\n" not in text.replace("\r\n", "") and "fw_" not in text


def test_help_modules_lists_what_imports_in_the_cores_layout(repl):
    lines = repl.exec("help('modules')").decode().split("\r\n")
    assert lines[-2:] == ["Plus any modules on the filesystem", ""]
    rows = lines[:-2]
    # Column by column, four columns 18 wide: a row's names start at 0, 18, 36, 54.
    for row in rows:
        for m in re.finditer(r"\S+", row):
            assert m.start() % 18 == 0, row
    columns = [[row[i:i + 18].strip() for row in rows if row[i:i + 18].strip()] for i in (0, 18, 36, 54)]
    names = [n for column in columns for n in column]
    assert names == sorted(names), names
    for expected in ("pyb", "machine", "stm", "micropython", "asyncio/__init__", "uasyncio", "__main__"):
        assert expected in names
    assert not [n for n in names if n.startswith("fw_") or n in ("socket", "_thread", "termios", "network")]
    # Every module listed imports.
    packages = sorted({n.replace("/__init__", "").replace("/", ".") for n in names})
    assert repl.exec(f"for n in {packages!r}:\n    __import__(n)\nprint('ok')") == b"ok\r\n"


def test_gc_collect_returns_none_at_the_repl(term):
    term.exchange(b"import gc\r", b">>> ")
    assert term.exchange(b"gc.collect()\r", b">>> ") == b"gc.collect()\r\n>>> "
