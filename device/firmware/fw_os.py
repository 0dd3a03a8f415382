# The board's `os` module: the core's VFS functions, without the host's
# (no system/getenv/putenv: a Pyboard has no host to reach).  The core's
# os and vfs are only read here, at import: this dict keeps none of them.
__name__ = "os"

import os as _os
import time as _time
import vfs as _vfs
from fw_identity import uname as _uname
from fw_time import time_ns as _board_ns

sep = "/"
chdir = _os.chdir
getcwd = _os.getcwd
ilistdir = _os.ilistdir
listdir = _os.listdir
mkdir = _os.mkdir
remove = _os.remove
unlink = _os.remove
rename = _os.rename
rmdir = _os.rmdir
statvfs = _os.statvfs
urandom = _os.urandom
mount = _vfs.mount
umount = _vfs.umount
_CoreFat = _vfs.VfsFat
_CoreLfs2 = _vfs.VfsLfs2
_stat = _os.stat
_core_ns = _time.time_ns
del _os, _time, _vfs


def stat(path):
    # The core's FAT and littlefs date files by its own clock, in seconds
    # since 1970 (the unix port's epoch); the board's are the RTC's, since
    # 2000 (ports/stm32 counts from MICROPY_EPOCH 2000).  The two clocks
    # differ by a fixed amount: the epochs and the RTC's setting.  Another
    # filesystem's (a user's VFS object, mpremote's mount) is its own, as
    # on the board.
    st = _stat(path)
    if len(st) != 10 or not _on_core_fs(path):
        return st
    return _board_dates(st)


def _board_dates(st):
    if not st[8]:
        return st  # no date (a mount point, a ROM file)
    shift = (_board_ns() - _core_ns() + 500000000) // 1000000000
    return st[:7] + (st[7] + shift, st[8] + shift, st[9] + shift)


def _on_core_fs(path):
    # Whether path is on a VfsFat or VfsLfs2, found as extmod/vfs.c's
    # mp_vfs_lookup_path finds it: on the first mount point it is under
    # ("/" takes any); a relative path on the current directory's, unless
    # that is the root.
    if path[:1] != "/":
        try:
            cwd = getcwd()
        except Exception:
            return False  # a user's filesystem without getcwd (the core's have one)
        path = "/" + path if cwd == "/" else cwd
    for fs, point in mount():
        n = len(point)
        if n == 1 or path[:n] == point and path[n : n + 1] in ("", "/"):
            return type(fs) is _CoreFat or type(fs) is _CoreLfs2
    return False


class _Dated:
    # A filesystem user code makes (on a RAM disk, say): the core's, whose
    # own stat() dates files by the board's clock too, as os.stat does.
    # It holds the core's object rather than subclassing its class: the
    # core would hand a subclass's instance to its C import code as its own.
    def __init__(self, *args, **kw):
        self._fs = self._core(*args, **kw)

    def __getattr__(self, name):
        return getattr(self._fs, name)

    def __repr__(self):
        return repr(self._fs)

    def stat(self, path):
        return _board_dates(self._fs.stat(path))


class VfsFat(_Dated):
    _core = _CoreFat
    mkfs = staticmethod(_CoreFat.mkfs)


class VfsLfs2(_Dated):
    _core = _CoreLfs2
    mkfs = staticmethod(_CoreLfs2.mkfs)


def uname():
    return _uname


def sync():
    # /flash writes through to its image at once; like the board's
    # storage_flush this does not touch files still open (FatFs flushes
    # those on close), so there is nothing left to write here.
    return None


def dupterm(stream_obj=None, index=0):
    raise NotImplementedError("os.dupterm is not modelled on the virtual board")
