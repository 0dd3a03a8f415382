# /flash: the internal flash filesystem (ports/stm32/main.c, factoryreset.c).
# The block device is the host's image file: mapped into memory when the
# core can (writes land in the host's page cache at once, so a killed core
# loses nothing that FatFs had written), or read and written as a file.
import gc
import fw_heap
import micropython
from micropython import const
from vfs import VfsFat, VfsLfs2, mount as _mount, umount as _umount

_BLOCK = const(512)
_FACTORY = ("boot.py", "main.py", "pybcdc.inf", "README.txt")


# Copies that allocate nothing: the filesystem also runs inside the GC's
# finalisers (an unclosed file flushed as it is collected), where the heap
# is locked and even a memoryview slice would raise MemoryError.
@micropython.viper
def _load(dst: ptr8, src: ptr8, at: int, n: int):
    i = 0
    while i < n:
        dst[i] = src[at + i]
        i += 1


@micropython.viper
def _store(dst: ptr8, at: int, src: ptr8, n: int):
    i = 0
    while i < n:
        dst[at + i] = src[i]
        i += 1


class MemoryBlockDevice:
    def __init__(self, mem):
        self._mem = mem
        self._blocks = len(mem) // _BLOCK

    def readblocks(self, n, buf, off=0):
        _load(buf, self._mem, n * _BLOCK + off, len(buf))

    def writeblocks(self, n, buf, off=0):
        _store(self._mem, n * _BLOCK + off, buf, len(buf))

    def ioctl(self, op, arg):
        if op == 4:
            return self._blocks
        if op == 5:
            return _BLOCK
        return 0  # init, deinit, sync and erase: nothing is cached or erased


class FileBlockDevice:
    def __init__(self, f, size):
        self._f = f
        self._blocks = size // _BLOCK

    def readblocks(self, n, buf, off=0):
        self._f.seek(n * _BLOCK + off)
        self._f.readinto(buf)

    def writeblocks(self, n, buf, off=0):
        self._f.seek(n * _BLOCK + off)
        self._f.write(buf)
        self._f.flush()

    def ioctl(self, op, arg):
        if op == 4:
            return self._blocks
        if op == 5:
            return _BLOCK
        return 0


def _is_littlefs(bdev):
    b = bytearray(_BLOCK)
    for n in (0, 1):
        bdev.readblocks(n, b)
        if b[8:16] == b"littlefs":
            return True
    return False


_fs = []  # the /flash filesystem object, made at boot (its FatFs window is 4 KB of heap)


def prepare(bdev, kind, rom, spare):
    # At boot, in the firmware's part of the heap: the /flash object.  A
    # spare (booted ahead of a soft reset, while another session uses the
    # volume) writes nothing; a core starting at once creates the
    # filesystem and factory files if the image has none.
    if not spare:
        if not mount(bdev, kind, rom, False):
            _umount("/flash")
        return
    try:
        _fs.append(VfsLfs2(bdev) if _is_littlefs(bdev) else VfsFat(bdev))
    except OSError:
        pass


def mount(bdev, kind, rom, refresh):
    # Mounts /flash, creating the filesystem and factory files if there is
    # none; returns an error text for the board to print, or None.
    # refresh: the object was made while another core could write the
    # volume, so what it caches is read afresh: it is made again, in the
    # same place (gc_alloc's first fit: the blocks it frees are the only
    # hole below the user's heap).
    if refresh:
        make = type(_fs[0]) if _fs else None
        _fs.clear()
        gc.collect()
        if make is not None:
            try:
                _fs.append(make(bdev))
            except OSError:
                pass
        fw_heap.replug()  # whatever of its blocks the new one left free stays the firmware's
    if _fs:
        try:
            _mount(_fs[0], "/flash")
            return None
        except OSError:  # a blank image: no filesystem yet
            _fs.clear()
    try:
        _fs.append(_mount_new(bdev, kind, rom))
    except OSError:
        return "MPY: can't create flash filesystem\n"
    return None


def _mount_new(bdev, kind, rom):
    try:
        fs = VfsLfs2(bdev) if _is_littlefs(bdev) else VfsFat(bdev)
        _mount(fs, "/flash")
        return fs
    except OSError:
        pass
    if kind == "littlefs":
        VfsLfs2.mkfs(bdev)
        fs = VfsLfs2(bdev)
    else:
        VfsFat.mkfs(bdev)
        fs = VfsFat(bdev)
    _mount(fs, "/flash")
    _write_factory_files(rom)
    return fs


def _write_factory_files(rom):
    buf = bytearray(_BLOCK)
    for name in _FACTORY:
        with rom.open("/factory/" + name, "rb") as src, open("/flash/" + name, "wb") as dst:
            while True:
                n = src.readinto(buf)
                if not n:
                    break
                dst.write(buf[:n] if n < _BLOCK else buf)
