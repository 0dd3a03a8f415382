# The board's `vfs` module: the core's, without VfsPosix (the host's files).
# The core's vfs is only read here, at import.
__name__ = "vfs"

import vfs as _vfs
from fw_os import VfsFat, VfsLfs2  # dated by the board's clock

mount = _vfs.mount
umount = _vfs.umount
VfsRom = _vfs.VfsRom
del _vfs
