# The board's `os` module: the core's VFS functions, without the host's
# (no system/getenv/putenv: a Pyboard has no host to reach).  The core's
# os and vfs are only read here, at import: this dict keeps none of them.
__name__ = "os"

import os as _os
import vfs as _vfs
from fw_identity import uname as _uname

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
stat = _os.stat
statvfs = _os.statvfs
urandom = _os.urandom
mount = _vfs.mount
umount = _vfs.umount
VfsFat = _vfs.VfsFat
VfsLfs2 = _vfs.VfsLfs2
del _os, _vfs


def uname():
    return _uname


def sync():
    # /flash writes through to its image at once; like the board's
    # storage_flush this does not touch files still open (FatFs flushes
    # those on close), so there is nothing left to write here.
    return None


def dupterm(stream_obj=None, index=0):
    raise NotImplementedError("os.dupterm is not modelled on the virtual board")
