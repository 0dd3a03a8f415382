# The board's `vfs` module: the core's, without VfsPosix (the host's files).
# The core's vfs is only read here, at import.
__name__ = "vfs"

import vfs as _vfs

mount = _vfs.mount
umount = _vfs.umount
VfsFat = _vfs.VfsFat
VfsLfs2 = _vfs.VfsLfs2
VfsRom = _vfs.VfsRom
del _vfs
