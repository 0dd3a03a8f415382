"""`vpyb console [PORT|URL]`: a prompt_toolkit console for MicroPython boards,
virtual or real.  Input is edited locally (multi-line, Python highlighting,
history kept per board, completion from names on the board); each entry runs
at the board's REPL and its output streams live; Ctrl-C interrupts it.
What the board prints by itself while the prompt is up (a timer callback's
print) shows above the prompt, and the toolbar (free heap, a virtual board's
LEDs) stays live, while code runs too.  The console holds the port alone, as
mpremote does: no other tool talks to the board meanwhile, and it doesn't
start on a port another tool holds.

Console commands start with % (%help lists them: files, heap map, reset).
Ctrl-D on an empty line soft-resets the board; Ctrl-] or %exit leaves.
"""
from __future__ import annotations

import collections
import contextlib
import os
import select
import shlex
import sys
import termios
import threading
import time
from pathlib import Path
from typing import Callable, Iterator, TextIO

from prompt_toolkit import PromptSession
from prompt_toolkit.application import run_in_terminal
from prompt_toolkit.filters import Always
from prompt_toolkit.formatted_text import StyleAndTextTuples
from prompt_toolkit.history import FileHistory
from prompt_toolkit.input import create_pipe_input
from prompt_toolkit.input.vt100 import raw_mode
from prompt_toolkit.lexers import PygmentsLexer
from prompt_toolkit.shortcuts import ProgressBar
from pygments.lexers.python import PythonLexer

from vpyb.device.pins import led_intensity
from vpyb.device.regfile import RegisterView
from vpyb.host_tools import heapmap
from vpyb.host_tools.console_input import BoardCompleter, Leave, history_path, key_bindings, virtual_board
from vpyb.host_tools.ports import open_exclusive, port_to_use
from vpyb.host_tools.status_line import StatusLine
from vpyb.protocol.friendly_client import PROMPT_QUIET, BoardReplyError, FriendlyRepl, read_literal

LED_COLOURS = ("ansired", "ansigreen", "ansiyellow", "ansiblue")
CHUNK = 256  # bytes per file-transfer command, as mpremote
TOOLBAR_REFRESH = 0.25  # s: LEDs change as a person sees them
BOARD_POLL = 0.05  # s between looks at the port while the prompt is up
# An unfinished line the board prints at its prompt shows on its own after
# this long: above a prompt, text goes a whole line at a time.
LINE_WAIT = 0.3


def _led_view(port: str) -> RegisterView | None:
    """A virtual board's register file, for its LEDs; None on a real board."""
    virtual = virtual_board(port)
    if not virtual or not virtual.regs:
        return None
    try:
        return RegisterView(virtual.regs)
    except OSError:  # another user's board, or it just stopped
        return None


@contextlib.contextmanager
def _typeahead_unechoed() -> Iterator[None]:
    """Between prompts (an entry's answer read, a file copied) keys typed
    ahead wait unechoed for the next prompt, which shows them, instead of
    the terminal echoing them first.  Ctrl-C still interrupts."""
    fd = sys.stdin.fileno() if sys.stdin and sys.stdin.isatty() else None
    if fd is None:
        yield
        return
    saved = termios.tcgetattr(fd)
    quiet = termios.tcgetattr(fd)
    quiet[3] &= ~(termios.ECHO | termios.ICANON)  # lflag
    termios.tcsetattr(fd, termios.TCSANOW, quiet)
    try:
        yield
    finally:
        termios.tcsetattr(fd, termios.TCSANOW, saved)


class Console:
    def __init__(self, port: str, out: TextIO | None = None, session: PromptSession | None = None) -> None:
        self.port = port
        self.repl = FriendlyRepl(open_exclusive(port))  # PortInUse while another tool holds it
        self.out = out or sys.stdout
        self.busy = threading.Lock()
        self.free_heap: int | None = None
        self.notice = ""  # shown in the toolbar until the next entry
        self.running = False  # the board runs an entry
        self.leds = _led_view(port)
        self.session = session or PromptSession(history=FileHistory(str(history_path(port))))
        self.session.default_buffer.multiline = Always()
        self._interrupt = threading.Event()
        self._held_cr = b""
        self._unshown: collections.deque[bytes] = collections.deque()  # board output on its way above the prompt
        self.commands: dict[str, Callable[[list[str]], None]] = {
            "put": self.put, "get": self.get, "ls": self.ls, "run": self.run_file,
            "heapmap": self.heapmap, "reset": self.reset, "help": self.help, "exit": self.leave,
        }

    # --- the loop ----------------------------------------------------
    def loop(self) -> None:
        self.repl.sync()
        self._refresh_heap()
        self.out.write(f"Connected to {self.port}. Ctrl-] or %exit to leave, %help for commands.\n")
        with _typeahead_unechoed():
            self._prompt_loop()

    def _prompt_loop(self) -> None:
        while True:
            try:
                with self._board_output_above_prompt():
                    text = self.session.prompt(
                        ">>> ", lexer=PygmentsLexer(PythonLexer), key_bindings=key_bindings(),
                        completer=BoardCompleter(self.repl, self.busy, self._notify),
                        complete_while_typing=False, bottom_toolbar=self.toolbar,
                        refresh_interval=TOOLBAR_REFRESH, prompt_continuation="... ")
            except KeyboardInterrupt:
                continue
            except (Leave, EOFError):
                return
            self.notice = ""
            if not self.handle(text):
                return

    def handle(self, text: str) -> bool:
        """Runs one entry; False means leave."""
        stripped = text.strip()
        if stripped.startswith("%"):
            try:
                words = shlex.split(stripped[1:])
            except ValueError as e:  # an unclosed quote
                self.out.write(f"{stripped.split()[0]}: {e}\n")
                return True
            if not words:
                return True
            cmd = self.commands.get(words[0])
            if cmd is None:
                self.out.write(f"unknown command %{words[0]} (try %help)\n")
                return True
            try:
                cmd(words[1:])
            except Leave:
                return False
            except Exception as e:  # a failed transfer must not end the console
                self.out.write(f"%{words[0]}: {e}\n")
            return True
        if stripped:
            self.run_code(text.rstrip() + "\n")
        return True

    def run_code(self, code: str) -> None:
        self._interrupt.clear()
        with self.busy, self._running() as keys:
            self.repl.run(code, self._show, self._interrupt.is_set, keys)
        self._refresh_heap()

    @contextlib.contextmanager
    def _running(self) -> Iterator[Callable[[], bytes]]:
        """While code runs, keys go to the board as typed (no local echo: the
        board echoes what input() reads; Ctrl-C is a \\x03 it gets), and the
        toolbar stays on the terminal's bottom row.  The keyboard is raw as
        prompt_toolkit makes it, output processing left on: the board's
        lines start at the left edge."""
        fd = sys.stdin.fileno() if sys.stdin and sys.stdin.isatty() else None
        self.running = True
        try:
            with contextlib.ExitStack() as stack:
                status = None
                if fd is not None and self.out.isatty():
                    status = stack.enter_context(StatusLine(self.session.output, self.toolbar, TOOLBAR_REFRESH))
                if fd is not None:
                    stack.enter_context(raw_mode(fd))

                def keys() -> bytes:
                    if status:
                        status.tick()
                    return os.read(fd, 1024) if fd is not None and select.select([fd], [], [], 0)[0] else b""

                yield keys
        finally:
            self.running = False

    def _show(self, data: bytes) -> None:
        # The board's \r\n may arrive split over two reads: hold a final \r.
        data = self._held_cr + data
        self._held_cr = b"\r" if data.endswith(b"\r") else b""
        if self._held_cr:
            data = data[:-1]
        self.out.write(data.decode("utf-8", errors="replace").replace("\r\n", "\n"))
        self.out.flush()

    # --- what the board prints by itself ------------------------------
    @contextlib.contextmanager
    def _board_output_above_prompt(self) -> Iterator[None]:
        """While the prompt is up, what the board prints unasked (a timer
        callback's print) shows above it, as prompt_toolkit's patch_stdout
        shows a thread's prints."""
        stop = threading.Event()
        watcher = threading.Thread(target=self._watch_board, args=(stop,), name="console-board-output",
                                   daemon=True)
        watcher.start()
        try:
            yield
        finally:
            stop.set()
            watcher.join()
            self._show_unshown()  # what the prompt ended before showing

    def _watch_board(self, stop: threading.Event) -> None:
        line = b""  # the board's unfinished line
        quiet_since = time.monotonic()
        while not stop.wait(BOARD_POLL):
            try:
                data = self._read_waiting()
            except OSError as e:  # a real board unplugged: the next entry says so too
                self._above_prompt(line + b"\r\n" * bool(line) + f"vpyb console: {self.port}: {e}\r\n".encode())
                return
            if data:
                line += data
                quiet_since = time.monotonic()
                done = line.rfind(b"\n") + 1
                if done:
                    self._above_prompt(line[:done])
                    line = line[done:]
            elif line and time.monotonic() - quiet_since > LINE_WAIT:
                self._above_prompt(line + b"\r\n")
                line = b""
        with contextlib.suppress(OSError):
            line += self._read_waiting()
        if line:
            self._unshown.append(line if line.endswith(b"\n") else line + b"\r\n")

    def _read_waiting(self) -> bytes:
        if not self.busy.acquire(blocking=False):  # completion is asking the board
            return b""
        try:
            return self.repl.reader.read_available(PROMPT_QUIET) if self.repl.reader.waiting() else b""
        finally:
            self.busy.release()

    def _above_prompt(self, data: bytes) -> None:
        self._unshown.append(data)
        app = self.session.app
        loop = app.loop if app.is_running else None
        try:
            if loop is not None:
                loop.call_soon_threadsafe(lambda: run_in_terminal(self._show_unshown, in_executor=False))
        except RuntimeError:  # the prompt just ended: shown when the watcher stops
            pass

    def _show_unshown(self) -> None:
        while self._unshown:
            self._show(self._unshown.popleft())

    # --- the toolbar -------------------------------------------------
    def toolbar(self) -> StyleAndTextTuples:
        heap = f"{self.free_heap} B free" if self.free_heap is not None else "?"
        parts: StyleAndTextTuples = [("", f" {self.port} | friendly REPL | heap {heap} | ")]
        if self.notice:
            parts.append(("bold fg:ansired", self.notice + " | "))
        if self.leds:
            parts.append(("", "LED "))
            jumpers = self.leds.jumpers()
            for n, colour in enumerate(LED_COLOURS, 1):
                lit = led_intensity(self.leds, n, jumpers)
                parts.append((f"bold fg:{colour}" if lit else "fg:ansibrightblack", "●" if lit else "○"))
            parts.append(("", " | "))
        parts.append(("", "running: Ctrl-C interrupts" if self.running else "Ctrl-C interrupt, Ctrl-] exit"))
        return parts

    def _notify(self, text: str) -> None:
        self.notice = text

    def _refresh_heap(self) -> None:
        with self.busy:
            try:
                self.free_heap = self.repl.eval_literal("__import__('gc').mem_free()", int)
            except (ValueError, RuntimeError, TimeoutError):
                self.free_heap = None

    # --- commands (the first line of each docstring is its %help line) ----
    def _exec(self, code: str) -> str:
        out: list[bytes] = []
        with self.busy:
            self.repl.run(code, out.append)
        text = b"".join(out).decode(errors="replace")
        if "Traceback (most recent call last)" in text:
            raise RuntimeError(text.strip().splitlines()[-1])
        return text

    @contextlib.contextmanager
    def _progress(self, title: str) -> Iterator[ProgressBar]:
        # The bar takes no keys (typed-ahead input stays for the prompt): its
        # input is a pipe no one writes.  A DummyInput reads as closed, and
        # prompt_toolkit 3.0.5x ends the bar's app with EOFError on it.
        with create_pipe_input() as no_keys, \
                ProgressBar(title=title, output=self.session.output, input=no_keys) as pb:
            yield pb

    def put(self, args: list[str]) -> None:
        """%put LOCAL [REMOTE]    copy a file to the board"""
        local = Path(args[0])
        remote = args[1] if len(args) > 1 else local.name
        data = local.read_bytes()
        self._exec(f"__f = open({remote!r}, 'wb')")
        try:
            with self._progress(f"put {local} -> :{remote}") as pb:
                for i in pb(range(0, len(data), CHUNK), total=-(-len(data) // CHUNK)):
                    self._exec(f"__f.write({data[i:i + CHUNK]!r})")
        finally:
            self._exec("__f.close(); del __f")

    def get(self, args: list[str]) -> None:
        """%get REMOTE [LOCAL]    copy a file from the board"""
        remote = args[0]
        local = Path(args[1] if len(args) > 1 else Path(remote).name)
        size = read_literal(self._exec(f"print(__import__('os').stat({remote!r})[6])").strip(), int)
        chunks = []
        self._exec(f"__f = open({remote!r}, 'rb')")
        try:
            with self._progress(f"get :{remote} -> {local}") as pb:
                for _ in pb(range(0, size, CHUNK), total=-(-size // CHUNK)):
                    chunk = read_literal(self._exec(f"print(repr(__f.read({CHUNK})))").strip(), bytes)
                    if len(chunk) > CHUNK:
                        raise BoardReplyError(f"the board sent {len(chunk)} bytes for a {CHUNK}-byte read")
                    if not chunk:
                        break
                    chunks.append(chunk)
        finally:
            self._exec("__f.close(); del __f")
        local.write_bytes(b"".join(chunks))

    def ls(self, args: list[str]) -> None:
        """%ls [DIR]              list the board's files with their sizes"""
        path = args[0] if args else ""
        self.out.write(self._exec(
            f"for __e in __import__('os').ilistdir({path!r}):\n"
            f"    print('{{:>8}} {{}}{{}}'.format(__e[3] if len(__e) > 3 else 0, __e[0], '/' if __e[1] & 0x4000 else ''))\n"
            "del __e"))

    def heapmap(self, args: list[str]) -> None:
        """%heapmap [FILE.png]    draw the board's heap (default heap.png)"""
        path = Path(args[0] if args else "heap.png")
        heap = heapmap.parse(self._exec(heapmap.MEM_INFO_CODE))
        heapmap.render(heap, path)
        self.out.write(heapmap.summary(heap, path))

    def run_file(self, args: list[str]) -> None:
        """%run FILE              run a local file on the board"""
        self.run_code(Path(args[0]).read_text())

    def reset(self, args: list[str]) -> None:
        """%reset                 soft-reset the board (Ctrl-D on an empty line too)"""
        with self.busy:
            self.repl.serial.write(b"\x04")
            self.repl.sync()
        self.out.write("soft reset\n")
        self._refresh_heap()

    def help(self, args: list[str]) -> None:
        """%help                  this list"""
        for command in self.commands.values():
            self.out.write(f"{(command.__doc__ or '').splitlines()[0]}\n")
        self.out.write("Ctrl-C interrupts the board's code; Ctrl-] leaves.\n")

    def leave(self, args: list[str]) -> None:
        """%exit                  leave (Ctrl-] too)"""
        raise Leave


def main(port: str | None) -> int:
    port = port_to_use(port, "vpyb console")
    if port is None:
        return 1
    try:
        console = Console(port)
    except OSError as e:  # another tool holds the port, or there is no such port
        print(f"vpyb console: {e}", file=sys.stderr)
        return 1
    try:
        console.loop()
    except OSError as e:  # the port went away (a real board unplugged)
        print(f"vpyb console: {port}: {e}", file=sys.stderr)
        return 1
    finally:
        console.repl.close()
    return 0
