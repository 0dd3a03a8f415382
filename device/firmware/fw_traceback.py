# Tracebacks show the user's frames only (DESIGN.md decision 12): on a
# board the firmware is C, and C adds no frame to a traceback.  Before the
# board prints an exception (the REPLs, boot.py/main.py, IRQ handlers,
# sys.print_exception), the frames of the firmware's own files are taken
# out of it, in place: nothing is allocated, so an exception in a full heap
# still prints.  Frames of the user's files (/flash, /rom, <stdin>) stay.
#
# py/objexcept.c keeps the traceback in the native exception object
# (mp_obj_exception_t: base; traceback_alloc and traceback_len, half a word
# each; traceback_data; args) as (file, line, block) triples of words,
# innermost first, the file and block as qstr numbers.  learn() checks that
# layout on an exception of its own and leaves tracebacks whole if it does
# not hold.
import array
import micropython
from sys import print_exception as _print
# The builtins used here, bound now: user code may replace any name in
# builtins, and a wrong address read here would crash the core.
from builtins import BaseException, id, isinstance, type

_files = array.array("I")  # qstr numbers of the firmware's source files
_natives = array.array("Q")  # addresses of the core's exception types
_native_types = []  # the same types, to tell a native exception from an instance of a class


class _Names:
    pass


def learn(rom):
    # rom: the firmware's VfsRom; every .mpy in it is compiled from the
    # source file of the same name (device/romfs.py).
    import builtins  # the core's: the firmware's is made later

    for t in builtins.__dict__.values():
        if isinstance(t, type) and issubclass(t, BaseException):
            _native_types.append(t)
            _natives.append(id(t))
    names = _Names()
    for entry in rom.ilistdir(""):
        if entry[0][-4:] == ".mpy":
            setattr(names, entry[0][:-4] + ".py", None)  # interns the name
    files = array.array("I")
    for k in names.__dict__:
        if id(k) & 7 != 2:  # not a qstr object of MICROPY_OBJ_REPR_A: leave tracebacks whole
            return
        files.append(id(k) >> 3)
    try:
        _raise()
    except ValueError as e:  # two frames of this file, both taken out
        if _frames(id(e)) == 2 and _strip(id(e), files, len(files)) == 0:
            _files.extend(files)


def _raise():
    raise ValueError


def print_exception(exc, file=None):
    # sys.print_exception, and how the firmware prints an exception.
    strip(exc)
    if file is None:
        _print(exc)
    else:
        _print(exc, file)


def strip(exc):
    # Takes the firmware's frames out of exc's traceback.
    a = _native(exc)
    if a:
        _strip(a, _files, len(_files))


def _native(exc):
    # The address of exc's native exception object, or 0.  An instance of
    # a class holds it as subobj[0] (mp_obj_instance_t: base, members map
    # of three words, subobj[]).
    a = id(exc)
    if type(exc) not in _native_types:
        if not isinstance(exc, BaseException):
            return 0
        a = _word(a, 4)
    return a if _is_native(_word(a, 0), _natives, len(_natives)) else 0


@micropython.viper
def _word(addr: uint, i: int) -> uint:
    p = ptr32(addr)
    return uint(p[2 * i]) | (uint(p[2 * i + 1]) << 32)


@micropython.viper
def _is_native(t: uint, types: ptr32, n: int) -> bool:
    i = 0
    while i < n:
        if uint(types[2 * i]) | (uint(types[2 * i + 1]) << 32) == t:
            return True
        i += 1
    return False


@micropython.viper
def _frames(exc: uint) -> int:
    return int(ptr32(exc)[3]) // 3


@micropython.viper
def _strip(exc: uint, files: ptr32, nfiles: int) -> int:
    # Keeps the triples whose file is not the firmware's, in order; returns
    # how many are left.  A word is two 32-bit halves: qstr numbers and
    # line numbers fit in the low one.
    e = ptr32(exc)
    n = int(e[3])
    if n == 0 or nfiles == 0:
        return n // 3
    data = ptr32(uint(e[4]) | (uint(e[5]) << 32))
    kept = 0
    i = 0
    while i < n:
        f = data[2 * i]
        j = 0
        while j < nfiles and files[j] != f:
            j += 1
        if j == nfiles:
            k = 0
            while k < 6:
                data[2 * kept + k] = data[2 * i + k]
                k += 1
            kept += 3
        i += 3
    if kept != n:
        e[3] = kept
    return kept // 3
