"""`vpyb`: start a virtual Pyboard and serve it until Ctrl-C / SIGTERM."""
from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Callable

from vpyb.device.sizes import (FLASH_MAX, FLASH_MIN, HEAP_MAX, HEAP_MIN, check_flash, check_heap,
                               format_size, parse_size)

if TYPE_CHECKING:
    import argparse

# Nothing slow is imported before main(): `vpyb run` starts its core process
# first and imports the rest while that process starts up.
OTHER_COMMANDS = ("ports", "freeze", "console", "heapmap")


def size_type(check: Callable[[int], int]) -> Callable[[str], int]:
    """An argparse type: a size as people write it ("256k"), within what a board
    can have; the message says which bound, never a function's name."""
    def size(text: str) -> int:
        import argparse

        try:
            return check(parse_size(text))
        except ValueError as e:
            raise argparse.ArgumentTypeError(str(e)) from None
    return size


def check_combinations(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    """Options that mean nothing without another one are refused, never
    ignored (argparse exits 2 with the message)."""
    if args.reset_on and args.rfc2217 is None:
        parser.error("argument --reset-on: needs --rfc2217 (an RFC 2217 client's modem line resets the board)")
    if args.listen and args.tcp is None and args.rfc2217 is None:
        parser.error("argument --listen: needs --tcp or --rfc2217 (the address they listen on)")
    if args.ephemeral and args.state:
        parser.error("argument --ephemeral: not with --state (an ephemeral board lives in a temporary directory)")


def micropython_problem(path: str) -> str | None:
    """Why a --micropython binary can't be a board's core, or None: it must
    run here and say its .mpy version, as the board asks it first."""
    import subprocess

    from vpyb.device.core import core_arch

    try:
        core_arch(path)
    except OSError as e:
        return f"--micropython {path}: {e.strerror}"
    except (subprocess.CalledProcessError, ValueError, IndexError):  # no or no numeric answer
        return (f"--micropython {path} is not a MicroPython unix-port binary "
                "(it does not print sys.implementation._mpy)")
    return None


def _is_loopback(address: str) -> bool:
    import ipaddress

    try:
        return ipaddress.ip_address(address).is_loopback
    except ValueError:
        return address == "localhost"


def _run(args: argparse.Namespace) -> int:
    import signal
    import threading

    from vpyb.device.board import VirtualBoard
    if args.micropython and (problem := micropython_problem(args.micropython)):
        print(f"vpyb: cannot start the board: {problem}", file=sys.stderr)
        return 1
    done = threading.Event()
    board = VirtualBoard(args.state, ephemeral=args.ephemeral, heap=args.heap, fs=args.fs,
                         flash_size=args.flash,
                         micropython=args.micropython, link=args.link, tcp=args.tcp,
                         rfc2217=args.rfc2217, listen=args.listen or "127.0.0.1",
                         reset_on=args.reset_on, freeze=args.freeze,
                         confine=not args.unconfined, on_fail=lambda reason: done.set())
    if args.unconfined:
        print("vpyb: WARNING: --unconfined: the board's code runs with your user's rights on "
              "this host; use it only for code you trust", file=sys.stderr)
    if args.listen and not _is_loopback(args.listen):
        print(f"vpyb: WARNING: listening on {args.listen}: whoever reaches these ports can run "
              "code on this host", file=sys.stderr)
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, lambda *_: done.set())
    try:
        if args.board:
            from vpyb.device.board_file import wire

            wire(board.hardware, args.board, lambda msg: print(f"vpyb: {msg}", file=sys.stderr))
        board.start()
    except Exception as e:
        board.stop()
        print(f"vpyb: cannot start the board: {e}", file=sys.stderr)
        return 1
    try:
        print(f"vpyb: PYBv1.1 ready on {board.port}", flush=True)
        if board.confinement:
            print(f"vpyb: core {board.confinement}", file=sys.stderr, flush=True)
        for url in board.urls:
            print(f"vpyb: also on {url}", flush=True)
        done.wait()
    finally:
        board.stop()
    return 1 if board.failure else 0  # the wire said why


def _freeze(args: argparse.Namespace) -> int:
    from vpyb.device.core import core_arch
    from vpyb.device.romfs import build_image

    if args.micropython and (problem := micropython_problem(args.micropython)):
        print(f"vpyb freeze: {problem}", file=sys.stderr)
        return 1
    src = Path(args.src)
    out = Path(args.output) if args.output else src.with_name(src.name.rstrip("/") + ".romfs")
    try:
        image = build_image(src, core_arch(args.micropython), whole_tree=True)
    except (OSError, RuntimeError) as e:
        print(f"vpyb freeze: {e}", file=sys.stderr)
        return 1
    out.write_bytes(image)
    print(f"vpyb: {out} ({len(image)} bytes); run it with: vpyb --freeze {out}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    import argparse
    from importlib.metadata import version

    from vpyb.device.board import PYBV11_GC_POOL, default_state_dir
    from vpyb.device.flash import FLASH_BYTES
    from vpyb.host_tools import ci

    p = argparse.ArgumentParser(prog="vpyb", description="A virtual MicroPython Pyboard v1.1.")
    p.add_argument("--version", action="version", version=f"vpyb {version('vpyb')}")
    sub = p.add_subparsers(dest="command")
    run = sub.add_parser("run", help="start a board and serve it (the default)")
    ports = sub.add_parser("ports", help="list real MicroPython boards (in DFU mode too) and running virtual ones")
    ports.add_argument("--json", action="store_true", help="a JSON list of records, for scripts")
    frz = sub.add_parser("freeze", help="compile a folder of modules into a ROMFS image for --freeze")
    frz.add_argument("src", help="folder of .py modules (packages and lib/ included)")
    frz.add_argument("-o", "--output", metavar="FILE", help="image file (default SRC.romfs)")
    frz.add_argument("--micropython", metavar="PATH",
                     help="the core the image is for (native code follows its arch)")
    con = sub.add_parser("console", help="a console for a board (virtual or real)")
    con.add_argument("port", nargs="?", help="port or pyserial URL (default: the only board running)")
    tst = sub.add_parser("test", help="one command for CI: a fresh board, files uploaded, a script "
                                      "run and its output checked; exit 0 pass, 1 fail, 2 error")
    ci.add_arguments(tst)
    for parser in (p, run, tst):
        parser.set_defaults(parser=parser)  # for check_combinations' message
        parser.add_argument("--state", metavar="DIR", default=None,
                            help=f"board directory holding the flash image (default {default_state_dir()})")
        parser.add_argument("--ephemeral", action="store_true",
                            help="a fresh temporary board, deleted at exit")
        parser.add_argument("--link", metavar="PATH", help="stable symlink to the pty, removed at exit")
        parser.add_argument("--heap", type=size_type(check_heap), default=PYBV11_GC_POOL, metavar="SIZE",
                            help=f"GC heap for user code, {format_size(HEAP_MIN)} to {format_size(HEAP_MAX)}, "
                                 "e.g. 103168 or 256k (default: a PYBv1.1's)")
        parser.add_argument("--fs", choices=("fat", "littlefs"), default="fat",
                            help="filesystem created on a new board's /flash")
        parser.add_argument("--flash", type=size_type(check_flash), default=FLASH_BYTES, metavar="SIZE",
                            help=f"size of a new board's flash image, {format_size(FLASH_MIN)} to "
                                 f"{format_size(FLASH_MAX)} (default 112k, a PYBv1.1's)")
        parser.add_argument("--micropython", metavar="PATH",
                            help="another MicroPython unix-port binary to use as the core")
        parser.add_argument("--tcp", type=int, metavar="PORT",
                            help="serve the port over TCP too (socket://), 0 for any free port")
        parser.add_argument("--rfc2217", type=int, metavar="PORT",
                            help="serve the port over RFC 2217 too (rfc2217://), 0 for any free port")
        parser.add_argument("--listen", metavar="ADDR",
                            help="address for --tcp/--rfc2217 (default 127.0.0.1, loopback only)")
        parser.add_argument("--reset-on", choices=("dtr", "rts"),
                            help="asserting this modem line over RFC 2217 hard-resets the board")
        parser.add_argument("--freeze", metavar="DIR|IMAGE",
                            help="modules to freeze: compiled with mpy-cross into ROMFS at /rom")
        parser.add_argument("--board", metavar="TOML",
                            help="wiring: peripheral models, jumpers, inputs (see the README)")
        parser.add_argument("--unconfined", action="store_true",
                            help="run the core without kernel confinement (trusted code only)")
    hm = sub.add_parser("heapmap", help="draw a board's GC heap (micropython.mem_info(1)) as a PNG")
    hm.add_argument("port", nargs="?", help="port or pyserial URL (default: the only board running)")
    hm.add_argument("-o", "--output", metavar="FILE", default="heap.png", help="PNG file (default heap.png)")
    hm.add_argument("--scale", type=int, default=6, metavar="PX", help="pixels a block (default 6)")
    return p


def _heapmap(args: argparse.Namespace) -> int:
    from vpyb.host_tools import heapmap
    from vpyb.host_tools.ports import open_exclusive, port_to_use
    from vpyb.protocol.raw_repl import RawRepl, ReplError

    port = port_to_use(args.port, "vpyb heapmap")
    if port is None:
        return 1
    try:
        with RawRepl(open_exclusive(port)) as repl:
            repl.enter()
            heap = heapmap.parse(repl.exec(heapmap.MEM_INFO_CODE).decode(errors="replace"))
    except (ReplError, ValueError, OSError) as e:  # a SerialException is an OSError
        print(f"vpyb heapmap: {e}", file=sys.stderr)
        return 1
    out = Path(args.output)
    heapmap.render(heap, out, args.scale)
    sys.stdout.write(heapmap.summary(heap, out))
    return 0


def _starts_a_board(argv: list[str]) -> bool:
    # Before parsing (which imports the board): the first word names the command.
    words = [a for a in argv if not a.startswith("-")]
    if words and words[0] == "test" and "--port" in argv:
        return False  # a real board's job
    return (not (words and words[0] in OTHER_COMMANDS) and "--micropython" not in argv
            and "--unconfined" not in argv and not {"--version", "-h", "--help"} & set(argv))


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if _starts_a_board(argv):
        from vpyb.device import standby

        standby.prepare()  # the core process starts up while we import the rest
    args = build_parser().parse_args(argv)
    if args.command in (None, "run"):
        check_combinations(args.parser, args)
        return _run(args)
    if args.command == "test":
        from vpyb.host_tools import ci

        check_combinations(args.parser, args)
        return ci.main(args)
    if args.command == "console":
        from vpyb.host_tools.console import main as console_main

        return console_main(args.port)
    if args.command == "freeze":
        return _freeze(args)
    if args.command == "heapmap":
        return _heapmap(args)
    if args.command == "ports":
        from vpyb.host_tools.ports import main as ports_main

        return ports_main(args.json)
    return 2


if __name__ == "__main__":
    sys.exit(main())
