# Boot and reset: the board's main loop (ports/stm32/main.c, boardctrl.c).
# A soft reset happens in place: everything the user made is dropped and
# collected, /flash is remounted, boot.py and main.py run again.
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
from vfs import VfsRom, mount as _mount, umount as _umount

import fw_builtins
import fw_complete
import fw_console
import fw_exec
import fw_flash
import fw_friendly
import fw_gc
import fw_heap
import fw_i2c
import fw_identity
import fw_imports
import fw_io
import fw_machine
import fw_mem
import fw_micropython
import fw_os
import fw_onboard
import fw_pins
import fw_pyb
import fw_raw
import fw_readline
import fw_regs
import fw_side
import fw_stm
import fw_sys
import fw_time
import fw_timer
import fw_uart
import fw_vfs

_FRIENDLY = const(0)
_RAW = const(1)
HARD_RESET_EXIT = const(99)  # exit status asking the host for a hard reset
_SYS_PATH = ("", ".frozen", "/flash", "/flash/lib")
# With frozen modules: MicroPython's romfs convention (extmod/vfs.c), ahead of /flash.
_SYS_PATH_ROM = ("", ".frozen", "/rom", "/rom/lib", "/flash", "/flash/lib")


class Board:
    def __init__(self, con, code_buf, rom, bdev, fs_kind, frozen, g):
        self.con = con
        self.code_buf = code_buf
        self.rom = rom
        self.frozen = frozen
        self.bdev = bdev
        self.fs_kind = fs_kind
        self.banner = fw_identity.BANNER
        self.readline = fw_readline.Readline(con, self._complete)
        self.mode = _FRIENDLY
        self.g = g
        self.restore_builtins = None

    def _complete(self, text):
        return fw_complete.complete(self.con, text, self.g)

    def unlock_heap(self):
        # The friendly REPL forces the heap unlocked (pyexec.c), else the
        # user could never get out.
        try:
            bytearray(1)
        except MemoryError:
            micropython.heap_unlock()


def main(rom, ram, flash, fs_kind, side, reset_cause, regs, frozen, heap):
    # rom: the firmware's VfsRom; ram: memory outside the heap for buffers;
    # flash: memory or (file, size) for /flash; side: the host side channel;
    # regs: address of the register file's private page (None: no hardware);
    # frozen: the user's frozen modules as a ROMFS image in memory, or None;
    # heap: (address of the core's mp_state_ctx, the user's pool) or None.
    import builtins
    import sys
    import termios
    import __main__

    fw_side.init(side)
    if regs is not None:
        fw_regs.init(regs)
        fw_onboard.power_on()
        fw_mem.attach()
    con = fw_console.Console(memoryview(ram)[:4096], sys.stdin.buffer, sys.stdout.buffer, termios,
                             fw_side.drain)
    bdev = (
        fw_flash.FileBlockDevice(flash[0], flash[1])
        if isinstance(flash, tuple)
        else fw_flash.MemoryBlockDevice(flash)
    )
    # The user's globals are __main__'s, as on a board (`import __main__`).
    board = Board(con, memoryview(ram)[4096:], rom, bdev, fs_kind,
                  VfsRom(frozen) if frozen is not None else None, __main__.__dict__)
    fw_machine._state["reset_cause"] = reset_cause
    d = _install_modules(board, builtins)
    for m in [m for m in fw_sys.modules if m[:3] == "fw_"]:
        del fw_sys.modules[m]
    modules = tuple(fw_sys.modules)
    if heap is not None:
        # What every session re-makes in place is made once here, in the
        # firmware's part: the builtins' dict and the /flash object.
        fw_heap.adopt_builtins(heap[0], builtins, d)
        if not fw_flash.mount(bdev, fs_kind, rom):
            _umount("/flash")
        gc.collect()
        fw_heap.init(*heap)  # the firmware is all loaded: the rest is the user's
    else:
        # Another core: the board's builtins module is a copy, and the
        # firmware's own names are set in the core's overrides.
        for name in ("open", "input", "__import__"):
            setattr(builtins, name, d[name])
    gc.threshold(-1)  # the board's default; the boot ran with a low one (core_boot)
    first = True
    while True:
        try:
            _run(board, first, modules)
        except fw_machine.HardReset:
            con.disarm()
            fw_sys.exit(HARD_RESET_EXIT)
        except Exception as e:
            # A firmware fault: say so and soft-reset rather than die.
            con.disarm()
            con.write(b"\nMPY: firmware error, soft reset\n")
            fw_sys.print_exception(e)
        first = False


def _install_modules(board, core_builtins):
    # Returns the board's builtins dict.
    fw_micropython._console = board.con
    fw_sys.stdin = fw_console.TextIn(board.con)
    fw_sys.stdout = fw_console.TextOut(board.con)
    fw_sys.stderr = fw_sys.stdout
    fw_io.open = fw_imports.make_open(core_builtins.open)
    replaced = {}
    for mod in (fw_os, fw_sys, fw_time, fw_vfs, fw_machine, fw_micropython, fw_gc, fw_pyb, fw_stm,
                fw_io, fw_builtins):
        mod.__dict__.pop("__file__", None)  # a built-in module has none
        replaced[mod.__name__] = mod
    d, board.restore_builtins = fw_imports.make_builtins(core_builtins, fw_builtins, {
        "open": fw_io.open,
        "input": fw_friendly.make_input(board),
        "__import__": fw_imports.make_import(core_builtins.__import__, replaced, fw_complete.MODULES),
    })
    return d


def _restore_modules(modules):
    for m in [m for m in fw_sys.modules if m not in modules]:
        del fw_sys.modules[m]


def _run(board, first, modules):
    con = board.con
    if not first:
        con.write(b"MPY: sync filesystems\n")
        fw_os.sync()
        con.write(b"MPY: soft reboot\n")
        fw_machine._state["reset_cause"] = fw_machine.SOFT_RESET
    _reset_state(board, modules)
    err = fw_flash.mount(board.bdev, board.fs_kind, board.rom)
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


def _reset_state(board, modules):
    board.restore_builtins()  # first: what follows relies on builtins the user may have replaced
    board.unlock_heap()  # a soft reset reinitialises the heap: a lock left by the user goes
    _restore_modules(modules)
    board.g.clear()
    for fs, path in _mount():
        _umount(path)
    # The user's heap starts here: what the firmware keeps lies below it.
    gc.collect()
    fw_heap.replug()
    if board.frozen is not None:
        _mount(board.frozen, "/rom")
    fw_sys.path[:] = _SYS_PATH if board.frozen is None else _SYS_PATH_ROM
    fw_sys.ps1 = ">>> "
    fw_sys.ps2 = "... "
    fw_pyb._main_file[0] = "main.py"
    board.con.disarm()
    fw_pins.reset()
    fw_uart.reset()
    fw_timer.reset()
    fw_i2c.reset()
    board.g["__name__"] = "__main__"
    gc.enable()
    gc.collect()


def _run_file(board, name):
    try:
        fw_os.stat(name)
    except OSError:
        return fw_exec.NORMAL  # a missing file runs like an empty one
    return fw_exec.run(board.con, fw_exec.exec_file, name, board.g, False)
