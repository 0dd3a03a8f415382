# What user code finds by name: `import` and the builtins.
#
# `import` finds the firmware's modules in place of the core's unix ones, the
# core's built-in modules a Pyboard has, the user's files, and nothing else:
# no sockets, threads or host terminal, nor the core's own os/sys/io/vfs.
# open() takes no fd number (fd 0/1 are the console, 3/4 the host's side
# channel: a file on one closes it when collected).
#
# User code reaches this module's globals (__import__.__globals__), so the
# core's __import__, open and builtins module live only in closure cells, and
# so do the builtins these functions rely on (user code can override any name
# in builtins).
import micropython

# The core's modules that a Pyboard lacks and that the built-in check below
# does not catch (frozen ones, which have a __file__), or whose absence it
# states sooner.
_ABSENT = ("socket", "_thread", "termios", "ffi", "ssl", "tls", "websocket", "requests", "mip",
           "argparse", "cryptolib")


def make_import(real, replaced, allowed):
    # real: the core's __import__; replaced: {name: the firmware's module},
    # each also found under its u-prefixed name; allowed: the names of the
    # core's built-in modules the board offers.  A built-in module has
    # neither __file__ nor __path__, and its __name__ is its own (read-only):
    # any other one the core's import finds is refused.  (What is not a
    # module came from the user's own sys.modules entries.)
    has = hasattr
    type_of = type
    module = type(micropython)

    @micropython.native
    def __import__(name, globals=None, locals=None, fromlist=(), level=0):
        if level == 0:
            m = replaced.get(name[1:] if name[:1] == "u" else name)
            if m is not None:
                return m
            if name in _ABSENT or (name[:1] == "u" and name[1:] in _ABSENT):
                raise ImportError("no module named '%s'" % name)
        m = real(name, globals, locals, fromlist, level)
        if type_of(m) is not module or has(m, "__file__") or has(m, "__path__"):
            return m
        if m.__name__ in allowed and m.__name__ not in replaced:  # (the core's os is not the board's)
            return m
        raise ImportError("no module named '%s'" % name)

    return __import__


def make_open(real):
    # The board's open (and io.open): paths only, as on a board's VFS.
    is_a = isinstance
    str_ = str
    type_of = type

    @micropython.native
    def open(file, *args, **kw):
        if not is_a(file, str_):
            raise TypeError("can't convert %s to str" % type_of(file).__name__)
        return real(file, *args, **kw)

    return open


def make_builtins(core, module, overrides):
    # Fills the board's builtins module with the core's builtins and the
    # firmware's overrides; returns (its dict, a function that fills it
    # again so, for a soft reset).  The dict is meant to become the core's
    # dict of overridden builtins (fw_heap.adopt_builtins), so that
    # `builtins.x = v` makes x a builtin for all code, as on the board.
    d = module.__dict__
    names = dir
    get = getattr
    has = hasattr
    str_ = str
    type_of = type

    def known(k):
        # (The core's __dict__ holds its originals; __class__ is the module type.)
        return type_of(k) is str_ and k != "__dict__" and k != "__class__" and (has(core, k) or k in overrides)

    def restore():
        # Uses no builtin by name and runs no user code: a key that is not a
        # str could hash or compare with user code, so then it starts over.
        for k in [k for k in d if not known(k)]:
            if type_of(k) is not str_:
                d.clear()
                break
            del d[k]
        for name in names(core):
            if name != "__dict__" and name != "__class__":
                d[name] = get(core, name)
        d.update(overrides)

    restore()
    return d, restore
