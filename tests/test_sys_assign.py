"""The board's `sys` takes assignment of what a PYBv1.1's takes, seen through
a board's pty: path, ps1 and ps2, which its port delegates (py/modsys.c,
MICROPY_MODULE_ATTR_DELEGATION), with the board's meaning (an assigned
sys.path is what imports search, ps1/ps2 are the friendly REPL's prompts);
any other name raises the core's own AttributeError, as a C module does.
sys.tracebacklimit is delegated only at MICROPY_CONFIG_ROM_LEVEL_EVERYTHING:
a PYBv1.1 (EXTRA_FEATURES), like the core, has none."""
from __future__ import annotations

from test_firmware_is_c import core_says

FILES = ("import os\nos.mkdir('far')\n"
         "for name, text in (('far/farmod.py', 'X = 7'), ('nearmod.py', 'Y = 8')):\n"
         "    with open(name, 'w') as f:\n"
         "        f.write(text)")
# sys's ROM dict on a PYBv1.1 (py/modsys.c): path, ps1 and ps2 are not in it.
SYS_DICT = ["__name__", "argv", "version", "version_info", "implementation", "platform", "byteorder",
            "maxsize", "exit", "stdin", "stdout", "stderr", "modules", "print_exception"]


def test_an_assigned_sys_path_is_what_import_searches(repl):
    repl.exec(FILES)
    out = repl.exec("import sys\n"
                    "mine = ['/flash/far']\n"
                    "sys.path = mine\n"
                    "print(sys.path is mine)\n"
                    "import farmod\n"
                    "print(farmod.X)\n"
                    "try:\n    import nearmod\nexcept ImportError as e:\n    print(repr(e))\n"
                    "mine.append('')\n"  # the list assigned is the one searched, as on the board
                    "import nearmod\n"
                    "print(nearmod.Y)\n"
                    "sys.path = []\n"
                    "import usys\n"
                    "print(usys.path)")
    assert out == b"True\r\n7\r\nImportError(\"no module named 'nearmod'\",)\r\n8\r\n[]\r\n"


def test_sys_path_in_place_and_back(repl):
    # vfs_rom's way (upstream extmod/vfs_rom.py): keep a copy, assign, put it back.
    repl.exec(FILES)
    out = repl.exec("import sys\n"
                    "orig = list(sys.path)\n"
                    "sys.path = []\n"
                    "sys.path.append('/flash/far')\n"
                    "import farmod\n"
                    "sys.path = orig\n"
                    "import nearmod\n"
                    "print(sys.path, farmod.X, nearmod.Y)")
    assert out == b"['', '.frozen', '/flash', '/flash/lib'] 7 8\r\n"


def test_ps1_and_ps2_are_the_friendly_prompts(term):
    # As upstream cmdline/repl_sys_ps1_ps2.py shows on the unix port.
    term.exchange(b"import sys\r", b">>> ")
    assert term.exchange(b'sys.ps1 = "PS1"\r', b"\r\nPS1") == b'sys.ps1 = "PS1"\r\nPS1'
    assert term.exchange(b'sys.ps2 = "PS2"\r', b"\r\nPS1") == b'sys.ps2 = "PS2"\r\nPS1'
    assert term.exchange(b"(1 +\r", b"\r\nPS2") == b"(1 +\r\nPS2"
    assert term.exchange(b"2)\r", b"\r\nPS1") == b"2)\r\n3\r\nPS1"
    assert term.exchange(b"sys.ps1, sys.ps2\r", b"\r\nPS1") == b"sys.ps1, sys.ps2\r\n('PS1', 'PS2')\r\nPS1"
    # Not a str: the board's REPL prints no prompt (py/repl.c mp_repl_get_psx).
    term.exchange(b"sys.ps1 = 5\r", b"sys.ps1 = 5\r\n")
    assert term.exchange(b"sys.ps1 + 1\r", b"6\r\n") == b"sys.ps1 + 1\r\n6\r\n"
    assert term.read_for(0.2) == b""
    # A soft reset is a fresh board: the prompts are the board's again.
    assert term.exchange(b"\x04", b">>> ").endswith(b'Type "help()" for more information.\r\n>>> ')


def test_other_names_raise_the_cores_attribute_error(repl):
    refusal = core_says("import sys\nsys.foo = 1")
    assert refusal == "AttributeError: 'module' object has no attribute 'foo'"
    for attack, words in (("sys.foo = 1", refusal),
                          ("sys.argv = []", refusal.replace("'foo'", "'argv'")),
                          ("sys.tracebacklimit = 1", refusal.replace("'foo'", "'tracebacklimit'")),
                          ("del sys.modules", refusal.replace("'foo'", "'modules'")),
                          ("del sys.path", refusal.replace("'foo'", "'path'")),
                          ("sys.nothing", "AttributeError: 'module' object has no attribute 'nothing'"),
                          ("from sys import nothing", "ImportError: can't import name nothing"),
                          ("sys.__dict__['foo'] = 1", "TypeError: "),
                          ("type(sys)()", "TypeError: can't create 'module' instances")):
        out, err = repl.exec_raw(f"import sys\n{attack}")
        assert err.decode().strip().splitlines()[-1] == words.strip(), attack
        assert err.decode().count("File ") == 1, err  # the user's frame only
    assert core_says("import sys\nsys.tracebacklimit = 1") == refusal.replace("'foo'", "'tracebacklimit'")
    assert repl.eval("[hasattr(__import__('sys'), n) for n in ('foo', 'tracebacklimit', 'argv')]") == [
        False, False, True]


def test_sys_shows_as_the_boards_module(repl):
    assert repl.eval("(repr(__import__('sys')), repr(type(__import__('sys'))))") == (
        "<module 'sys'>", "<class 'module'>")
    names = repl.eval("dir(__import__('sys'))")
    assert names == ["__class__", "__name__", "__dict__"] + sorted(SYS_DICT[1:] + ["path", "ps1", "ps2"])
    # Its __dict__ is the board's: the ROM dict, in its order, without the delegated names.
    assert repl.eval("list(__import__('sys').__dict__)") == SYS_DICT
    text = repl.exec("help(__import__('sys'))").decode()
    assert [line.split(" -- ")[0].strip() for line in text.splitlines()[1:]] == SYS_DICT
    assert text.startswith("object <module 'sys'> is of type module\r\n") and "fw_" not in text


def test_the_cores_sys_stays_out_of_reach(repl):
    # What the board's sys is made of (its class, the class's functions and
    # their globals) holds nothing of the core's sys, whose atexit and
    # executable the board's lacks.
    out = repl.exec("import sys\n"
                    "seen = []\n"
                    "todo = [sys, type(sys), sys.__dict__]\n"
                    "todo += [v for v in type(sys).__dict__.values()]\n"
                    "todo += [f.__globals__ for f in todo[3:] if hasattr(f, '__globals__')]\n"
                    "for o in todo:\n"
                    "    vals = o.values() if type(o) is dict else [o]\n"
                    "    for v in vals:\n"
                    "        if hasattr(v, 'atexit') or hasattr(v, 'executable'):\n"
                    "            seen.append(repr(v))\n"
                    "print(seen, hasattr(sys, 'atexit'), hasattr(sys, 'executable'))")
    assert out == b"[] False False\r\n"

