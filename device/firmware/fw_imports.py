# What `import` finds on the board: the firmware's modules in place of the
# core's unix ones, and no modules a Pyboard lacks (sockets, threads, the
# host's terminal).  Installed as builtins.__import__.
import builtins
import micropython

_real_import = builtins.__import__
_replaced = {}
_ABSENT = ("socket", "_thread", "termios", "ffi", "ssl", "tls", "websocket", "requests", "mip", "argparse", "cryptolib")


def install(modules):
    # modules: {name: module}; each also answers to its u-prefixed alias.
    for name, mod in modules.items():
        _replaced[name] = mod
        _replaced["u" + name] = mod
    builtins.__import__ = import_


@micropython.native
def import_(name, globals=None, locals=None, fromlist=(), level=0):
    if level == 0:
        m = _replaced.get(name)
        if m is not None:
            return m
        if name in _ABSENT or (name[0] == "u" and name[1:] in _ABSENT):
            raise ImportError("no module named '%s'" % name)
    return _real_import(name, globals, locals, fromlist, level)
