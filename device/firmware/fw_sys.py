# The board's `sys` module: the core's, with the VCP as stdin/stdout and the
# Pyboard's identity.  stdin/stdout/stderr are bound by fw_main at boot.  The
# core's sys (its stdio are the console's fds) is only read here, at import,
# and kept in one closure cell (below), out of user code's reach.
__name__ = "sys"

import sys as _sys
import fw_identity as _identity
from fw_traceback import print_exception

argv = []
byteorder = _sys.byteorder
exit = _sys.exit
implementation = _identity.implementation
maxsize = _sys.maxsize
modules = _sys.modules
path = _sys.path
platform = "pyboard"
version = "3.4.0; MicroPython " + _identity.VERSION
version_info = _sys.version_info
stdin = None
stdout = None
stderr = None
# The friendly REPL's prompts, sys.ps1 and sys.ps2 as py/repl.c's
# mp_repl_get_psx reads them: what the user assigned if a str, else "".
prompts = [">>> ", "... "]

# The names a board's sys takes assignment of.  Its C module's dict is
# fixed, and its port delegates these three to py/modsys.c's
# mp_module_sys_attr (MICROPY_MODULE_ATTR_DELEGATION): an assigned sys.path
# is what imports search, ps1/ps2 are what the friendly REPL prints; any
# other name raises AttributeError.  (sys.tracebacklimit is delegated only
# at MICROPY_CONFIG_ROM_LEVEL_EVERYTHING: a PYBv1.1, like this core, has
# none.)  py/objmodule.c delegates only for the core's own sys, whose
# address it reads from read-only memory, so no module made here can take
# some names and refuse the rest.  The board's sys is therefore an object
# of a class named module, holding the board's names, taking assignment of
# the delegated ones and leaving the refusal of any other to a real module
# holding the same names (_shadow, fixed as every board module is), whose
# AttributeError is the core's own; its __dict__ is that module's, without
# the delegated names as the board's.  What still shows: type(sys) is not
# type(os), and a missing name is "'module' object has no attribute 'x'"
# where a board says "module 'sys' has no attribute 'x'" (a __getattr__
# saying so would also turn `from sys import x` into that AttributeError
# instead of the ImportError py/runtime.c's mp_import_from raises).
_shadow = None  # set by make
_store = object.__setattr__


def _board_type(core):
    # The board's sys's class.  core: the core's sys, which only the cell
    # of __setattr__'s closure holds.
    def __setattr__(self, name, value):
        if name == "path":
            core.path = value  # the list the core's import searches
        elif name == "ps1" or name == "ps2":
            prompts[1 if name == "ps2" else 0] = value if type(value) is str else ""
        else:
            setattr(_shadow, name, value)  # raises the core's AttributeError
        _store(self, name, value)

    def __delattr__(self, name):
        delattr(_shadow, name)  # raises the core's AttributeError (for all: none is worth deleting)

    def __dir__(self):
        # The shadow's names and the delegated ones, as the core's dir()
        # lists a module's (after its dunders, sorted).
        names = dir(_shadow)
        for name in ("path", "ps1", "ps2"):
            i = len(names)
            while i > 0 and names[i - 1] > name and names[i - 1][:1] != "_":
                i -= 1
            names.insert(i, name)
        return names

    def __repr__(self):
        return repr(_shadow)

    # Made by type(), a class has no __module__ or __qualname__, as a C
    # type.  Its __init__ is the module type, whose call raises the core's
    # TypeError: a module is not made by calling its type.
    return type("module", (), {"__init__": type(core), "__setattr__": __setattr__, "__delattr__": __delattr__,
                               "__dir__": __dir__, "__repr__": __repr__})


_module = _board_type(_sys)
del _sys, _identity, _board_type


def make(shadow):
    # shadow: the board's sys as a fixed module without the delegated names
    # (as the board's sys.__dict__ is).  Returns the board's sys.
    global _shadow
    _shadow = shadow
    board = object.__new__(_module)
    for name, value in shadow.__dict__.items():
        _store(board, name, value)
    _store(board, "__dict__", shadow.__dict__)
    _store(board, "path", path)
    _store(board, "ps1", prompts[0])
    _store(board, "ps2", prompts[1])
    return board
