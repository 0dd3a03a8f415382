# Boot and reset: the board's main loop (ports/stm32/main.c, boardctrl.c).
# A soft reset happens in place: everything the user made is dropped and
# collected, /flash is remounted, boot.py and main.py run again.
import sys as _sys
import builtins
import gc
import vfs
import micropython
from micropython import const

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
    def __init__(self, con, code_buf, rom, bdev, fs_kind, frozen):
        self.con = con
        self.code_buf = code_buf
        self.rom = rom
        self.frozen = frozen
        self.bdev = bdev
        self.fs_kind = fs_kind
        self.banner = fw_identity.BANNER
        self.readline = fw_readline.Readline(con, self._complete)
        self.mode = _FRIENDLY
        self.g = None

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
    fw_side.init(side)
    if regs is not None:
        fw_regs.init(regs)
        fw_onboard.power_on()
        fw_mem.attach()
    con = fw_console.Console(memoryview(ram)[:4096], _sys.stdin.buffer, _sys.stdout.buffer,
                             fw_side.drain)
    bdev = (
        fw_flash.FileBlockDevice(flash[0], flash[1])
        if isinstance(flash, tuple)
        else fw_flash.MemoryBlockDevice(flash)
    )
    board = Board(con, memoryview(ram)[4096:], rom, bdev, fs_kind,
                  vfs.VfsRom(frozen) if frozen is not None else None)
    fw_machine._state["reset_cause"] = reset_cause
    _install_modules(board)
    modules = tuple(_sys.modules)
    if heap is not None:
        # What every session re-makes in place is made once here, in the
        # firmware's part: the builtins' override dict and the /flash object.
        _restore_builtins(board)
        if not fw_flash.mount(bdev, fs_kind, rom):
            vfs.umount("/flash")
        gc.collect()
        fw_heap.init(*heap)  # the firmware is all loaded: the rest is the user's
    gc.threshold(-1)  # the board's default; the boot ran with a low one (core_boot)
    first = True
    while True:
        try:
            _run(board, first, modules)
        except fw_machine.HardReset:
            con.disarm()
            _sys.exit(HARD_RESET_EXIT)
        except Exception as e:
            # A firmware fault: say so and soft-reset rather than die.
            con.disarm()
            con.write(b"\nMPY: firmware error, soft reset\n")
            _sys.print_exception(e)
        first = False


def _install_modules(board):
    fw_micropython._console = board.con
    fw_sys.stdin = fw_console.TextIn(board.con)
    fw_sys.stdout = fw_console.TextOut(board.con)
    fw_sys.stderr = fw_sys.stdout
    fw_imports.install(
        {
            "os": fw_os,
            "sys": fw_sys,
            "time": fw_time,
            "vfs": fw_vfs,
            "machine": fw_machine,
            "micropython": fw_micropython,
            "gc": fw_gc,
            "pyb": fw_pyb,
            "stm": fw_stm,
        }
    )
    real_open = builtins.open

    @micropython.native
    def open(file, *args, **kw):
        if not isinstance(file, str):
            raise TypeError("can't convert %s to str" % type(file).__name__)
        return real_open(file, *args, **kw)

    # (Reading builtins.X gives the core's own X even when overridden.)
    board.builtins = {"open": open, "input": fw_friendly.make_input(board),
                      "__import__": fw_imports.import_}


def _restore_builtins(board):
    # Deleting a builtin only removes an override (the core's own builtins
    # are read-only), so this drops the user's and re-installs the firmware's.
    for n in dir(builtins):
        try:
            delattr(builtins, n)
        except (AttributeError, KeyError):
            pass
    for n, v in board.builtins.items():
        setattr(builtins, n, v)


def _restore_modules(modules):
    for m in [m for m in _sys.modules if m not in modules]:
        del _sys.modules[m]


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
    board.unlock_heap()  # a soft reset reinitialises the heap: a lock left by the user goes
    _restore_modules(modules)
    _restore_builtins(board)
    for fs, path in vfs.mount():
        vfs.umount(path)
    # The user's heap starts here: what the firmware keeps lies below it.
    gc.collect()
    fw_heap.replug()
    if board.frozen is not None:
        vfs.mount(board.frozen, "/rom")
    _sys.path[:] = _SYS_PATH if board.frozen is None else _SYS_PATH_ROM
    fw_sys.ps1 = ">>> "
    fw_sys.ps2 = "... "
    fw_pyb._main_file[0] = "main.py"
    board.con.disarm()
    fw_pins.reset()
    fw_uart.reset()
    fw_timer.reset()
    fw_i2c.reset()
    board.g = {"__name__": "__main__"}
    gc.enable()
    gc.collect()


def _run_file(board, name):
    try:
        fw_os.stat(name)
    except OSError:
        return fw_exec.NORMAL  # a missing file runs like an empty one
    return fw_exec.run(board.con, fw_exec.exec_file, name, board.g, False)
