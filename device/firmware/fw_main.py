# Boot and reset: the board's main loop (ports/stm32/main.c, boardctrl.c).
# Every session is a fresh board (DESIGN.md decision 10): a core boots the
# firmware to the pristine point, then waits for the host's word to go (on
# fd 5: the reset's cause, the REPL's mode, input typed meanwhile).  A soft
# reset ends the session's core: it syncs /flash, hands the host its mode
# and unread input, and waits to be ended; a core booted ahead to the same
# pristine point takes over.  So nothing of a session, its heap, qstrs,
# modules or firmware state, reaches the next one.
#
# The core's own objects that user code must never reach (its sys, with the
# console's files, termios, builtins with the real open and __import__) are
# taken in main(), at boot, and handed on only as closures and bound methods:
# every module's globals are reachable from user code (a function's
# __globals__).  No firmware module stays in sys.modules: they hold each
# other through their own imports.
import gc
import micropython
from micropython import const
from vfs import VfsRom, mount as _mount

import fw_builtins
import fw_complete
import fw_console
import fw_exec
import fw_flash
import fw_friendly
import fw_heap
import fw_help
import fw_identity
import fw_imports
import fw_io
import fw_machine
import fw_mem
import fw_micropython
import fw_modules
import fw_os
import fw_onboard
import fw_pyb
import fw_raw
import fw_readline
import fw_regs
import fw_side
import fw_sys
import fw_time
import fw_traceback

_FRIENDLY = const(0)
_RAW = const(1)
HARD_RESET_EXIT = const(99)  # exit status asking the host for a hard reset
FIRMWARE_FAULT_EXIT = const(97)  # a firmware fault: the host hard-resets the board
_GO_HEAD = const(4)  # mode, reset cause, u16 length of the input that follows
_SYS_PATH = ("", ".frozen", "/flash", "/flash/lib")
# With frozen modules: MicroPython's romfs convention (extmod/vfs.c), ahead of /flash.
_SYS_PATH_ROM = ("", ".frozen", "/rom", "/rom/lib", "/flash", "/flash/lib")


class Board:
    def __init__(self, con, code_buf, rom, g):
        self.con = con
        self.code_buf = code_buf
        self.rom = rom
        self.frozen = None  # the user's frozen modules (a VfsRom), known at the handover
        self.bdev = None  # /flash's block device and filesystem kind, known at the handover
        self.fs_kind = None
        self.banner = fw_identity.BANNER
        self.readline = fw_readline.Readline(con, self._complete)
        self.mode = _FRIENDLY
        self.g = g
        self.restore_builtins = None

    def _complete(self, text):
        return fw_complete.complete(self.con, text, self.g)

    def unlock_heap(self):
        # The friendly REPL forces the heap unlocked (pyexec.c sets the lock
        # depth to 0), else the user could never get out: however deep the
        # user locked it, or unlocked it past 0 (the depth wraps), with no
        # allocation and no builtin the user may have replaced.
        micropython.heap_lock()
        while micropython.heap_unlock():
            pass


def main(rom, ram, side, go, regs, heap, handover):
    # rom: the firmware's VfsRom; ram: memory outside the heap for buffers;
    # side: the host side channel; go: where the host's word to start a
    # session comes (fd 5); regs: address of the register file's private
    # page (None: no hardware); heap: (address of the core's mp_state_ctx,
    # the user's pool) or None.
    # handover(): the board, which the core may boot without (core_boot.py):
    # it returns (flash: memory or (file, size) for /flash, the filesystem
    # kind, spare: booted ahead of a soft reset while another session runs,
    # the board's power-on on the core's clock in us (0 in its time
    # namespace), the user's frozen modules as a ROMFS image or None).
    import builtins
    import sys
    import termios
    import __main__

    fw_side.init(side)
    if regs is not None:
        fw_regs.init(regs)
        fw_onboard.make_leds()  # their pins are set at power-on, once the session is ours
        fw_mem.attach()
    con = fw_console.Console(memoryview(ram)[:4096], sys.stdin.buffer, sys.stdout.buffer, termios,
                             fw_side.drain)
    # The user's globals are __main__'s, as on a board (`import __main__`).
    board = Board(con, memoryview(ram)[4096:], rom, __main__.__dict__)
    d = _install_modules(board, builtins)
    for m in [m for m in fw_sys.modules if m[:3] == "fw_"]:
        del fw_sys.modules[m]
    modules = tuple(fw_sys.modules)
    head = bytearray(_GO_HEAD)
    if heap is not None:
        # What the session re-makes in place is made here, in the firmware's
        # part: the builtins' dict and the /flash object.
        fw_heap.adopt_builtins(heap[0], builtins, d)
    else:
        # Another core: the board's builtins module is a copy, and the
        # firmware's own names are set in the core's overrides.
        for name in ("open", "input", "__import__"):
            setattr(builtins, name, d[name])
    flash, board.fs_kind, spare, clock, frozen = handover()
    fw_time.set_power_on(clock)
    fw_side.start()  # a thread: after the handover (the core is forked up to there)
    board.bdev = (
        fw_flash.FileBlockDevice(flash[0], flash[1])
        if isinstance(flash, tuple)
        else fw_flash.MemoryBlockDevice(flash)
    )
    if frozen is not None:
        board.frozen = VfsRom(frozen)
    if heap is not None:
        fw_flash.prepare(board.bdev, board.fs_kind, rom, spare)
        gc.collect()
        fw_heap.init(*heap)  # the firmware is all loaded: the rest is the user's
    gc.threshold(-1)  # the board's default; the boot ran with a low one (core_boot)
    cause = _wait_go(go, head, board)  # the pristine point
    try:
        if cause != fw_machine.SOFT_RESET and regs is not None:
            fw_onboard.power_on()
            gc.collect()  # its garbage: a power-on session's heap is a soft reset's
        fw_machine._state["reset_cause"] = cause
        _run(board)
    except fw_machine.HardReset:
        con.disarm()
        fw_sys.exit(HARD_RESET_EXIT)
    except Exception as e:
        # A firmware fault: the board is reset from scratch, saying why.
        con.disarm()
        con.write(b"\nMPY: firmware error, hard reset\n")
        try:
            sys.print_exception(e, sys.stderr)
        except Exception:
            pass
        fw_sys.exit(FIRMWARE_FAULT_EXIT)
    # A soft reset (storage_flush, then soft reboot, as boardctrl.c says),
    # whatever the session left: a full or locked heap must not stop it.
    con.disarm()
    board.unlock_heap()
    _restore_modules(modules)
    board.g.clear()  # the user's state goes first: a full heap has room after it
    gc.collect()
    board.restore_builtins()  # what follows relies on builtins the user may have replaced
    con.write(b"MPY: sync filesystems\n")
    fw_os.sync()
    con.write(b"MPY: soft reboot\n")
    fw_side.soft_reset(board.mode, con.pending())
    go.readinto(head)  # the host ends this core


def _wait_go(go, head, board):
    # Blocks until the host starts the session; returns the reset cause.
    if go.readinto(head) != _GO_HEAD:
        fw_sys.exit(0)  # the host let this core go unused
    board.mode = head[0]
    n = head[2] | head[3] << 8
    if n:
        board.con.preload(go, n)
    return head[1]


def _install_modules(board, core_builtins):
    # Returns the board's builtins dict.
    fw_micropython._console = board.con
    fw_sys.stdin, fw_sys.stdout, fw_sys.stderr = fw_console.stdio(board.con)
    fw_io.open = fw_imports.make_open(core_builtins.open)
    fw_traceback.learn(board.rom)
    replaced = fw_modules.make(fw_builtins)
    d, board.restore_builtins = fw_imports.make_builtins(core_builtins, fw_builtins, {
        "open": fw_io.open,
        "input": fw_friendly.make_input(board),
        "help": fw_help.make_help(board.con, core_builtins.help),
        "__import__": fw_imports.make_import(core_builtins.__import__, replaced, fw_complete.MODULES),
    })
    return d


def _restore_modules(modules):
    for m in [m for m in fw_sys.modules if m not in modules]:
        del fw_sys.modules[m]


def _run(board):
    # One session: /flash, boot.py, main.py, then the REPLs until a soft reset.
    con = board.con
    if board.frozen is not None:
        _mount(board.frozen, "/rom")
    fw_sys.path[:] = _SYS_PATH if board.frozen is None else _SYS_PATH_ROM
    board.g.clear()  # __main__'s globals: the bootstrap's names go
    board.g["__name__"] = "__main__"
    # The /flash object was made at boot, maybe while another session could
    # still write the volume: it reads the volume afresh, in its place.
    err = fw_flash.mount(board.bdev, board.fs_kind, board.rom, True)
    if err:
        con.write(err)
    fw_os.chdir("/flash")
    if _run_file(board, "boot.py") == fw_exec.FORCED_EXIT:
        return
    if board.mode == _FRIENDLY and _run_file(board, fw_pyb._main_file[0]) == fw_exec.FORCED_EXIT:
        return
    fw_side.request(fw_side.PROMPT, b"", reply=False)  # the board is at its prompt
    while True:
        if board.mode == _RAW:
            r = fw_raw.raw_repl(board)
            if r == fw_raw.TO_FRIENDLY:
                board.mode = _FRIENDLY
                continue
        else:
            r = fw_friendly.friendly_repl(board)
            if r == fw_friendly.TO_RAW:
                board.mode = _RAW
                continue
        return  # soft reset


def _run_file(board, name):
    try:
        fw_os.stat(name)
    except OSError:
        return fw_exec.NORMAL  # a missing file runs like an empty one
    return fw_exec.run(board.con, fw_exec.exec_file, name, board.g, False)
