"""Attacks on the firmware's own objects from user code on a board: each test
performs the attack and asserts the refusal.  The core's real `os` (system,
getenv...), `vfs.VfsPosix`, `socket`, `_thread`, `termios`, its real
`__import__` and `open` (which takes an fd number: fd 3/4 are the host's side
channel, 0/1 the console) must be out of reach of user code, and the
firmware's modules can't be imported.  This is defence in depth: the kernel
confinement of the core (DESIGN.md decision 9) is the boundary.

Beside the known attacks, a crawler runs on the board: from everything user
code can name (its globals, builtins, every module it can import, objects the
board makes), it walks attributes, class and instance dicts, containers and
every function's `__globals__`, and reports what it should not find.  Builtin
objects have no names on this core, so the core's dangerous ones are known by
their address relative to `print`: the same library in a reference process
gives the same offsets."""
from __future__ import annotations

import ast
import subprocess
import sys

import pytest

from vpyb.device.core import WHEEL_DIR
from vpyb.protocol.raw_repl import RawRepl

# The core's objects that must be out of reach, named as the reference prints them.
REFERENCE = r"""
import builtins, io, os, sys, vfs
B = id(print)
out = {}
def add(name, o):
    out[id(o) - B] = name
add("the core's os", os)
for n in ("system", "getenv", "putenv", "unsetenv", "errno"):
    add("os." + n, getattr(os, n))
add("the core's vfs", vfs)
add("vfs.VfsPosix", vfs.VfsPosix)
add("the core's builtins", builtins)
add("the core's __import__", builtins.__import__)
add("the core's open", builtins.open)
add("the core's io", io)
add("the core's sys", sys)
add("sys.atexit", sys.atexit)
for n in ("stdin", "stdout", "stderr"):
    add("the core's sys." + n, getattr(sys, n))
    add("the core's sys.%s.buffer" % n, getattr(sys, n).buffer)
for m in ("socket", "_thread", "termios", "ffi"):
    try:
        mod = __import__(m)
    except ImportError:
        continue
    add(m, mod)
    for n in dir(mod):
        v = getattr(mod, n)
        # (LockType: the firmware's own lock is one, and a lock is harmless.)
        if n[:2] != "__" and n != "LockType" and not isinstance(v, (int, str, bytes, float)):
            add(m + "." + n, v)
print(repr(out))
"""

# Runs on the board.  Two walks, each remembering the ids it has seen in one
# table made before anything else (a set growing on a 100 KB heap fragmented
# by the roots soon finds no room for its next table):
#  - the board's surface, which never follows a function's __globals__: no
#    firmware module may show there (a firmware function's __globals__ is its
#    module's dict, which this core can't hide: reaching the module object
#    through it gives nothing more);
#  - everything, __globals__ included: nothing dangerous anywhere.
# Depth first with an explicit stack, whose labels are the path reported.
CRAWLER = r"""
import array, gc
_crawl_seen = array.array("q", range(4096))  # ids, open addressing, 0 free (made in place)
_CRAWL_LEAF = (int, float, str, bytes, bool, type(None), bytearray, memoryview, complex, range)
_CRAWL_CALLS = ("system", "getenv", "putenv", "unsetenv", "errno", "VfsPosix")
_CRAWL_PLAIN = (dict, list, tuple, set, frozenset)


_crawl_props = {}  # id of a class -> its properties' names (few classes have any)


def _crawl_class(c):
    # (A class's __dict__ is a copy: it is read once, here.)
    props = []
    for k, v in c.__dict__.items():
        if type(v) in (staticmethod, classmethod):
            v = getattr(c, k)
        elif type(v) is property:
            props.append(k)
        yield k, v
    if props:
        _crawl_props[id(c)] = props
    yield "__bases__", c.__bases__


def _crawl_instance(o, t):
    # An instance's class is walked before its attributes (see _crawl).
    yield "__dict__", o.__dict__
    for k in _crawl_props.get(id(t), ()):
        try:
            yield k, getattr(o, k)
        except Exception:
            pass


def _crawl_dict(d):
    for k, v in d.items():
        if type(k) not in _CRAWL_LEAF:
            yield "key", k
        yield k, v


def _crawl_children(o, t, deep):
    if t is dict:
        return _crawl_dict(o)
    if t in _CRAWL_PLAIN:
        return enumerate(o)
    if t is type(gc):
        return _crawl_dict(o.__dict__)
    if isinstance(o, type):
        return _crawl_class(o)
    if deep and hasattr(o, "__globals__"):
        return iter((("__globals__", o.__globals__),))
    if isinstance(o, BaseException):
        return iter((("args", o.args),))
    if hasattr(o, "__self__"):
        return iter((("__self__", o.__self__),))
    if hasattr(o, "__dict__") and type(o.__dict__) is dict:
        return _crawl_instance(o, t)
    return _crawl_attrs(o)


def _crawl_attrs(o):
    # A built-in type's instance: its attributes (methods come bound, which
    # shows nothing of the object on this core).
    for k in dir(o):
        if k[:2] != "__":
            try:
                yield k, getattr(o, k)
            except Exception:
                pass


def _crawl_check(o, t, label, deep, forbidden, base):
    # What is wrong with o, or None.
    if id(o) - base in forbidden:
        return forbidden[id(o) - base]
    if t is type(gc):
        name = o.__name__
        if name[:3] == "fw_" and not deep:
            return "firmware module " + name
        if name in ("socket", "_thread", "termios", "ffi") or hasattr(o, "system") or hasattr(o, "VfsPosix"):
            return "module " + name
        return None
    if t.__name__ in ("FileIO", "TextIOWrapper") and not hasattr(o, "__dict__"):
        # (The board's sys.stdin... print as the board's do, but they are
        # the firmware's instances: their attributes are walked instead.)
        fd = repr(o)[:-1].split(" ")[-1]  # a host file shows its fd, a /flash one its address
        if fd.isdigit() and len(fd) < 6:
            return "a file on an fd: " + repr(o)
        return None
    if not callable(o) or not isinstance(label, str):
        return None
    if label in _CRAWL_CALLS:
        return "a function named " + label
    if label == "__import__":
        try:
            o("socket")
            return "an __import__ that imports socket"
        except Exception:
            return None
    if label in ("open", "FileIO", "TextIOWrapper"):
        try:
            f = o(1000)  # an fd nothing has open: closing it harms nothing
        except Exception:
            return None
        try:
            f.close()
        except Exception:
            pass
        return "an %s that takes an fd number" % label
    return None


def _crawl_new(seen, i):
    # Whether i is seen for the first time (it is marked seen).
    mask = len(seen) - 1
    h = (i ^ (i >> 12)) & mask
    while True:
        v = seen[h]
        if v == i:
            return False
        if v == 0:
            seen[h] = i
            return True
        h = (h + 1) & mask


def _crawl(roots, deep, forbidden, base):
    seen = _crawl_seen
    for i in range(len(seen)):
        seen[i] = 0
    limit = len(seen) * 3 // 4
    n = 0
    stack = []
    found = []
    deepest = 0
    for label, root in roots:
        stack.append((iter(((label, root),)), None))
        while stack:
            try:
                label, o = next(stack[-1][0])
            except StopIteration:
                stack.pop()
                continue
            t = type(o)
            if t in _CRAWL_LEAF or not _crawl_new(seen, id(o)):
                continue
            n += 1
            if n >= limit:
                return n, deepest, True, found
            if n & 31 == 0:
                gc.collect()  # often, or the heap fragments past the next generator's room
            try:
                why = _crawl_check(o, t, label, deep, forbidden, base)
                children = _crawl_children(o, t, deep)
            except Exception:  # objects whose attributes raise (uctypes structs)
                why = children = None
            if why is not None:
                path = "".join("%s." % s[1] for s in stack[1:] if s[1] is not None)
                found.append("%s%s: %s" % (path, label, why))
            stack.append((children or iter(()), label))
            deepest = max(deepest, len(stack))
            stack.append((iter((("type", t),)), None))  # on top: walked first
    return n, deepest, False, found


def _crawl_both(roots, forbidden):
    # One line a walk, then one a finding: the output needs little memory
    # and no code is compiled between the walks.
    for deep in (False, True):
        gc.collect()
        n, depth, truncated, found = _crawl(roots, deep, forbidden, id(print))
        print("walk", int(deep), n, depth, int(truncated))
        for f in found:
            print(f)
"""

# The roots: what user code can name, and objects the board makes on request.
ROOTS = r"""
import pyb, machine, os, vfs, sys, micropython
_crawl_roots = [("globals", dict((k, v) for k, v in globals().items() if k[:6] != "_crawl"))]
for _crawl_n in _CRAWL_MODULES:
    try:
        _crawl_roots.append(("import " + _crawl_n, __import__(_crawl_n)))
    except ImportError:
        pass


def _crawl_make(label, f):
    try:
        _crawl_roots.append((label, f()))
    except Exception as e:
        _crawl_roots.append((label + " raised", e))


_crawl_make("LED(1)", lambda: pyb.LED(1))
_crawl_make("pyb.Pin(X1)", lambda: pyb.Pin("X1", pyb.Pin.OUT))
_crawl_make("Pin(X2).irq", lambda: machine.Pin("X2", machine.Pin.IN).irq(lambda p: None))
_crawl_make("ExtInt(Y1)", lambda: pyb.ExtInt("Y1", pyb.ExtInt.IRQ_RISING, pyb.Pin.PULL_NONE, lambda l: None))
_crawl_make("Signal(X3)", lambda: machine.Signal("X3", machine.Pin.OUT))
_crawl_make("UART(4)", lambda: pyb.UART(4, 9600))
_crawl_make("machine.UART(1)", lambda: machine.UART(1, 115200))
_crawl_make("I2C(1)", lambda: machine.I2C(1))
_crawl_make("pyb.I2C(1)", lambda: pyb.I2C(1, pyb.I2C.CONTROLLER))
_crawl_make("SoftI2C", lambda: machine.SoftI2C(scl="X9", sda="X10"))
_crawl_make("I2C error", lambda: machine.I2C(2).readfrom(0x11, 1))
_crawl_make("SPI(1)", lambda: machine.SPI(1))
_crawl_make("pyb.SPI(2)", lambda: pyb.SPI(2, pyb.SPI.CONTROLLER))
_crawl_make("Timer(4)", lambda: pyb.Timer(4, freq=10, callback=lambda t: None))
_crawl_make("machine.Timer", lambda: machine.Timer(-1, period=100000, callback=lambda t: None))
_crawl_make("Switch", pyb.Switch)
_crawl_make("Accel", pyb.Accel)
_crawl_make("ADC(X19)", lambda: pyb.ADC("X19"))
_crawl_make("machine.ADC(X20)", lambda: machine.ADC("X20"))
_crawl_make("RTC", machine.RTC)
_crawl_make("open(w)", lambda: open("/flash/crawl.txt", "w"))
_crawl_make("open(rb)", lambda: open("/flash/boot.py", "rb"))
_crawl_make("vfs.mount()", vfs.mount)
_crawl_make("os.ilistdir", lambda: list(os.ilistdir("/flash")))
_crawl_make("os.uname()", os.uname)
_crawl_make("RingIO", lambda: micropython.RingIO(16))
_crawl_make("stdin", lambda: sys.stdin)
gc.collect()
"""

# Modules the board has to offer whatever help('modules') says.
BOARD_MODULES = ("pyb", "machine", "stm", "os", "sys", "time", "io", "vfs", "gc", "micropython",
                 "builtins", "__main__", "select", "uctypes", "errno", "array", "json", "re")


def reference_offsets() -> dict[int, str]:
    """The core's dangerous objects, by address relative to `print`, in a
    plain process of the same core library."""
    run = (f"import sys;sys.path.insert(0,{WHEEL_DIR!r});import micropython_run as m;"
           f"m.run_main(['micropython','-c',{REFERENCE!r}])")
    out = subprocess.run([sys.executable, "-I", "-S", "-c", run], capture_output=True, text=True,
                         check=True, timeout=30).stdout
    return ast.literal_eval(out)


@pytest.fixture
def crawl_repl(start_board):
    # The crawler's own bookkeeping grows with the firmware it walks: it gets
    # a larger heap than a board's, which changes nothing of what it reaches.
    r = RawRepl(start_board("--ephemeral", "--heap", "512k").port, timeout=60)
    r.enter()
    yield r
    r.close()


def refused(repl: RawRepl, code: str) -> str:
    """Runs an attack; returns the board's error (the attack must raise)."""
    out, err = repl.exec_raw(code)
    assert err, f"{code!r} was not refused: {out!r}"
    return err.decode().strip().splitlines()[-1]


def board_modules(repl: RawRepl) -> list[str]:
    # The names help('modules') lists (packages as "asyncio/__init__").
    text = repl.exec("help('modules')").decode()
    names = {w.split("/")[0] for line in text.splitlines()[:-1] for w in line.split()}
    names.update(BOARD_MODULES)
    names.update("u" + n for n in list(names))
    return sorted(names)


def crawl(repl: RawRepl, plant: str = "") -> dict:
    # What is big is made first, on a fresh heap: the table of forbidden
    # offsets, the crawler's memory, then the roots.  plant: code run first.
    modules = board_modules(repl)
    repl.exec(f"_crawl_forbidden = {reference_offsets()!r}\n{plant}\n" + CRAWLER)
    repl.exec(f"_CRAWL_MODULES = {modules!r}\n" + ROOTS)
    result = {}
    for line in repl.exec("_crawl_both(_crawl_roots, _crawl_forbidden)").decode().splitlines():
        if line.startswith("walk "):
            deep, seen, depth, truncated = map(int, line.split()[1:])
            walk = result["everything" if deep else "surface"] = {
                "objects": seen, "depth": depth, "truncated": bool(truncated), "found": []}
        else:
            walk["found"].append(line)
    return result


def test_crawler_finds_what_it_looks_for(crawl_repl):
    repl = crawl_repl
    # The control: print named as forbidden by its offset, and a function
    # named like os.system, planted in the user's globals.
    result = crawl(repl, "_crawl_forbidden[0] = 'print'\ndef system():\n    pass")
    # (Paths are the walk's first way there, depth first: not the shortest.)
    assert [f for f in result["surface"]["found"] if f.endswith("system: a function named system")]
    assert [f for f in result["everything"]["found"] if f.endswith("print: print")]


def test_crawler_finds_nothing_dangerous_from_anything_user_code_can_reach(crawl_repl):
    repl = crawl_repl
    result = crawl(repl)
    print({walk: {k: v for k, v in r.items() if k != "found"} for walk, r in result.items()})
    for walk in ("surface", "everything"):
        assert not result[walk]["truncated"], result[walk]
        assert result[walk]["found"] == [], "\n".join(result[walk]["found"])
    assert result["everything"]["objects"] > 1000  # the firmware's modules were walked


def test_firmware_modules_cannot_be_imported_and_are_not_in_sys_modules(repl):
    assert refused(repl, "import fw_os\nfw_os._os.system('id > /tmp/x')") == \
        "ImportError: no module named 'fw_os'"
    assert refused(repl, "__import__('fw_side')") == "ImportError: no module named 'fw_side'"
    assert refused(repl, "from fw_main import main") == "ImportError: no module named 'fw_main'"
    assert repl.eval("[m for m in __import__('sys').modules if m[:3] == 'fw_']") == []


@pytest.mark.parametrize("name", ["socket", "usocket", "_thread", "termios", "ffi"])
def test_the_cores_host_modules_cannot_be_imported(repl, name):
    assert refused(repl, f"import builtins\nbuiltins.__import__({name!r})") == \
        f"ImportError: no module named '{name}'"
    assert refused(repl, f"import {name}") == f"ImportError: no module named '{name}'"


@pytest.mark.parametrize("name", ["socket", "os", "sys", "vfs", "io", "builtins"])
def test_a_relative_import_resolved_to_a_core_module_is_refused(repl, name):
    # The core resolves `from . import x` with the importing function's
    # globals, which user code can write: the module it finds is checked.
    assert refused(repl, f"g = __import__.__globals__\ng['__name__'] = {name!r}\ng['__path__'] = ''\n"
                         "__import__('', None, None, ('x',), 1)") == "ImportError: no module named ''"


def test_modules_the_user_puts_in_sys_modules_import(repl):
    # upstream tests/basics/import_instance_method.py: any object can be a module.
    assert repl.exec("import sys\nclass A:\n    x = 5\nsys.modules['mod'] = A()\nimport mod\n"
                     "from mod import x\nprint(mod.x, x)") == b"5 5\r\n"


def test_vfs_posix_is_not_offered(repl):
    assert refused(repl, "v = __import__('vfs')\nv.mount(v.VfsPosix('/'), '/h')") == \
        "AttributeError: module 'vfs' has no attribute 'VfsPosix'"
    assert refused(repl, "import os\nos.VfsPosix") == "AttributeError: module 'os' has no attribute 'VfsPosix'"
    for name in ("system", "getenv", "putenv", "unsetenv", "errno"):
        assert refused(repl, f"import os\nos.{name}") == \
            f"AttributeError: module 'os' has no attribute '{name}'"


@pytest.mark.parametrize("attack", [
    "open(3, 'wb')",
    "open(4, 'rb')",
    "open(0)",
    "io.open(3, 'wb')",
    "builtins.open(3, 'wb')",
    "builtins.__dict__['open'](3, 'wb')",
    # the checks in open are not the user's builtins
    "builtins.isinstance = lambda o, t: True\nbuiltins.str = int\nopen(3, 'wb')",
])
def test_no_file_can_be_opened_on_an_fd_number(repl, attack):
    err = refused(repl, "import builtins, io\n" + attack)
    assert err == "TypeError: can't convert int to str", err
    # The side channel and the console are intact: a soft reset comes back.
    repl.enter(soft_reset=True)
    assert repl.eval("1 + 1") == 2


def test_io_offers_no_file_class(repl):
    assert refused(repl, "import io\nio.FileIO(3)") == \
        "AttributeError: module 'io' has no attribute 'FileIO'"
    assert refused(repl, "import io\nio.TextIOWrapper(3)") == \
        "AttributeError: module 'io' has no attribute 'TextIOWrapper'"


def test_builtins_are_the_boards_and_overriding_them_works_as_on_a_board(repl):
    assert refused(repl, "import builtins\nbuiltins.__import__('socket')") == \
        "ImportError: no module named 'socket'"
    out = repl.exec("import builtins\nbuiltins.abs = lambda x: x + 1\nprint(abs(1))\n"
                    "del builtins.abs\nprint(abs(-1))\nbuiltins.seven = 7\nprint(seven)")
    assert out.split() == [b"2", b"1", b"7"]
    # A soft reset puts them back, whatever the user left in them.
    repl.exec("import builtins\nbuiltins.print = None\nbuiltins.dir = None\nbuiltins.list = None\n"
              "builtins.bytearray = None\n"
              "class K:\n    def __hash__(self):\n        if builtins.armed:\n            raise ValueError\n"
              "        return 1\n"
              "builtins.armed = 0\nbuiltins.__dict__[K()] = 1\nbuiltins.armed = 1")
    repl.enter(soft_reset=True)
    assert repl.exec("print(dir is not None, list, bytearray(1))") == \
        b"True <class 'list'> bytearray(b'\\x00')\r\n"
    assert refused(repl, "seven") == "NameError: name 'seven' isn't defined"


def test_main_is_the_users_globals_not_the_boot_code(repl):
    # The core's __main__ ran the bootstrap (vfs, sys, fw_main...): on the
    # board it is the user's globals, as on a Pyboard.
    repl.exec("x = 5\nimport __main__")
    names = repl.eval("dir(__main__)")
    assert "x" in names and not {"vfs", "sys", "uctypes", "gc", "rom", "fw_main"} & set(names), names


def test_firmware_globals_hold_nothing_of_the_cores(repl):
    # Any firmware function leads to its module's dict (__globals__): these
    # are the dicts that held the core's objects before.
    for expr in ("__import__.__globals__", "open.__globals__", "input.__globals__",
                 "__import__('pyb').LED.on.__globals__", "__import__('time').sleep.__globals__",
                 "__import__('sys').stdin.readinto.__globals__", "__import__('os').uname.__globals__"):
        keys = repl.eval(f"sorted(k for k in {expr} if isinstance(k, str))")
        held = {"_os", "_vfs", "_sys", "_real_import", "_thread", "builtins", "termios", "sys", "vfs", "io",
                "_out"} & set(keys)
        assert not held, (expr, held)
