"""`vpyb console [PORT|URL]`: a prompt_toolkit console for MicroPython boards,
virtual or real.  Input is edited locally (multi-line, Python highlighting,
history kept per board, completion from names on the board); each entry runs
at the board's REPL and its output streams live; Ctrl-C interrupts it.

Console commands start with %: %put LOCAL [REMOTE], %get REMOTE [LOCAL],
%ls [DIR], %run FILE, %heapmap [FILE.png] (the heap as a picture),
%reset (soft reset), %exit.  Ctrl-D on an empty line
soft-resets the board; Ctrl-] or %exit leaves.
"""
from __future__ import annotations

import codeop
import contextlib
import hashlib
import os
import re
import select
import shlex
import sys
import termios
import threading
import tty
from pathlib import Path
from typing import Callable, TextIO

from platformdirs import user_state_dir
from prompt_toolkit import PromptSession
from prompt_toolkit.completion import Completer, Completion
from prompt_toolkit.history import FileHistory
from prompt_toolkit.input import DummyInput
from prompt_toolkit.key_binding import KeyBindings
from prompt_toolkit.lexers import PygmentsLexer
from prompt_toolkit.shortcuts import ProgressBar
from pygments.lexers.python import PythonLexer

from vpyb.device.pins import led_intensity
from vpyb.device.regfile import RegisterView
from vpyb.device.registry import RunningBoard, running_boards
from vpyb.host_tools import heapmap
from vpyb.protocol.friendly_client import BoardReplyError, FriendlyRepl, read_literal

EXIT_KEY = "c-]"
LED_COLOURS = ("ansired", "ansigreen", "ansiyellow", "ansiblue")
_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_.]*$")
CHUNK = 256  # bytes per file-transfer command, as mpremote


def virtual_board(port: str) -> RunningBoard | None:
    return next((b for b in running_boards() if b.port == port), None)


def board_identity(port: str) -> str:
    """What stays the same for a board across restarts: a virtual board's
    state directory, a real board's USB serial number, else the port."""
    from serial.tools import list_ports

    virtual = virtual_board(port)
    if virtual:
        return "virtual:" + virtual.state_dir
    for info in list_ports.comports():
        if info.device == port and info.serial_number:
            return f"usb:{info.vid:04x}:{info.pid:04x}:{info.serial_number}"
    return "port:" + port


def history_path(port: str) -> Path:
    key = hashlib.sha256(board_identity(port).encode()).hexdigest()[:12]
    d = Path(user_state_dir("vpyb")) / "console-history"
    d.mkdir(parents=True, exist_ok=True)
    return d / key


def _led_view(port: str) -> RegisterView | None:
    """A virtual board's register file, for its LEDs; None on a real board."""
    virtual = virtual_board(port)
    if not virtual or not virtual.regs:
        return None
    try:
        return RegisterView(virtual.regs)
    except OSError:  # another user's board, or it just stopped
        return None


class BoardCompleter(Completer):
    """Completes dotted names with what the board knows, asked through
    print(repr(...)): nothing is bound on the board, `_` is untouched.
    The answer must be a list literal; only identifiers in it are offered."""

    def __init__(self, repl: FriendlyRepl, busy: threading.Lock,
                 refused: Callable[[str], None] = lambda reason: None) -> None:
        self.repl = repl
        self.busy = busy
        self.refused = refused

    def get_completions(self, document, complete_event):
        m = _WORD.search(document.text_before_cursor)
        if not m:
            return
        obj, _, prefix = m.group(0).rpartition(".")
        source = f"dir({obj})" if obj else "globals()"
        with self.busy:
            try:
                names = self.repl.eval_literal(f"sorted({source})", list)
            except BoardReplyError as e:
                self.refused(f"completion refused: {e}")
                return
            except Exception:  # no such name on the board, or no answer
                return
        for name in names:
            if not (isinstance(name, str) and name.isidentifier()):
                continue
            if name.startswith(prefix) and (prefix or not name.startswith("_")):
                yield Completion(name, start_position=-len(prefix))


def _complete_input(text: str) -> bool:
    """True when text is a whole statement (Enter runs it)."""
    if not text.strip():
        return True
    if "\n" in text and not text.rsplit("\n", 1)[1].strip():
        return True  # a blank line ends a block, as at the board's prompt
    try:
        return codeop.compile_command(text, "<stdin>", "single") is not None
    except (SyntaxError, ValueError, OverflowError):
        return True  # let the board say what is wrong


@contextlib.contextmanager
def _raw_keyboard():
    """While code runs, keys go to the board as typed (raw terminal, no
    local echo: the board echoes what input() reads, Ctrl-C is a \\x03)."""
    fd = sys.stdin.fileno() if sys.stdin and sys.stdin.isatty() else None
    if fd is None:
        yield lambda: b""
        return
    saved = termios.tcgetattr(fd)
    tty.setraw(fd, termios.TCSANOW)

    def keys() -> bytes:
        return os.read(fd, 1024) if select.select([fd], [], [], 0)[0] else b""

    try:
        yield keys
    finally:
        termios.tcsetattr(fd, termios.TCSANOW, saved)


class _Leave(Exception):
    pass


def _key_bindings() -> KeyBindings:
    kb = KeyBindings()

    @kb.add("c-d")
    def _(event):
        # Ctrl-D on an empty entry soft-resets the board, as at its prompt.
        if not event.current_buffer.text:
            event.app.exit(result="%reset")
        else:
            event.current_buffer.delete()

    @kb.add("enter")
    def _(event):
        buf = event.current_buffer
        if _complete_input(buf.text):
            buf.validate_and_handle()
            return
        # Continue, with an indent like the board's REPL gives.
        line = buf.document.current_line
        indent = len(line) - len(line.lstrip(" "))
        if line.rstrip().endswith(":"):
            indent += 4
        buf.insert_text("\n" + " " * indent)

    @kb.add(EXIT_KEY)
    def _(event):
        event.app.exit(exception=_Leave)

    return kb


class Console:
    def __init__(self, port: str, out: TextIO | None = None, session: PromptSession | None = None) -> None:
        self.port = port
        self.repl = FriendlyRepl(port)
        self.out = out or sys.stdout
        self.busy = threading.Lock()
        self.free_heap: int | None = None
        self.notice = ""  # shown in the toolbar until the next entry
        self.leds = _led_view(port)
        self.session = session or PromptSession(history=FileHistory(str(history_path(port))))
        self.session.default_buffer.multiline = lambda: True
        self._interrupt = threading.Event()
        self._held_cr = b""
        self.commands: dict[str, Callable[[list[str]], None]] = {
            "put": self.put, "get": self.get, "ls": self.ls, "run": self.run_file,
            "heapmap": self.heapmap,
            "reset": self.reset,
        }

    # --- the loop ----------------------------------------------------
    def loop(self) -> None:
        self.repl.sync()
        self._refresh_heap()
        self.out.write(f"Connected to {self.port}. Ctrl-] or %exit to leave, %help for commands.\n")
        while True:
            try:
                text = self.session.prompt(
                    ">>> ", lexer=PygmentsLexer(PythonLexer), key_bindings=_key_bindings(),
                    completer=BoardCompleter(self.repl, self.busy, self._notify),
                    complete_while_typing=False,
                    bottom_toolbar=self.toolbar, prompt_continuation="... ")
            except KeyboardInterrupt:
                continue
            except (_Leave, EOFError):
                return
            self.notice = ""
            if not self.handle(text):
                return

    def handle(self, text: str) -> bool:
        """Runs one entry; False means leave."""
        stripped = text.strip()
        if stripped.startswith("%"):
            words = shlex.split(stripped[1:])
            if words and words[0] == "exit":
                return False
            if not words:
                return True
            if words[0] == "help":
                self.out.write(__doc__.split("\n\n", 2)[2])
                return True
            cmd = self.commands.get(words[0])
            if cmd is None:
                self.out.write(f"unknown command %{words[0]} (try %help)\n")
            else:
                try:
                    cmd(words[1:])
                except Exception as e:  # a failed transfer must not end the console
                    self.out.write(f"%{words[0]}: {e}\n")
            return True
        if stripped:
            self.run_code(text.rstrip() + "\n")
        return True

    def run_code(self, code: str) -> None:
        self._interrupt.clear()
        with self.busy, _raw_keyboard() as keys:
            self.repl.run(code, self._show, self._interrupt.is_set, keys)
        self._refresh_heap()

    def _show(self, data: bytes) -> None:
        # The board's \r\n may arrive split over two reads: hold a final \r.
        data = self._held_cr + data
        self._held_cr = b"\r" if data.endswith(b"\r") else b""
        if self._held_cr:
            data = data[:-1]
        self.out.write(data.decode("utf-8", errors="replace").replace("\r\n", "\n"))
        self.out.flush()

    def toolbar(self) -> list[tuple[str, str]]:
        heap = f"{self.free_heap} B free" if self.free_heap is not None else "?"
        parts = [("", f" {self.port} | friendly REPL | heap {heap} | ")]
        if self.notice:
            parts.append(("bold fg:ansired", self.notice + " | "))
        if self.leds:
            parts.append(("", "LED "))
            jumpers = self.leds.jumpers()
            for n, colour in enumerate(LED_COLOURS, 1):
                lit = led_intensity(self.leds, n, jumpers)
                parts.append((f"bold fg:{colour}" if lit else "fg:ansibrightblack", "●" if lit else "○"))
            parts.append(("", " | "))
        parts.append(("", "Ctrl-C interrupt, Ctrl-] exit"))
        return parts

    def _notify(self, text: str) -> None:
        self.notice = text

    def _refresh_heap(self) -> None:
        with self.busy:
            try:
                self.free_heap = self.repl.eval_literal("__import__('gc').mem_free()", int)
            except (ValueError, RuntimeError, TimeoutError):
                self.free_heap = None

    # --- commands ----------------------------------------------------
    def _exec(self, code: str) -> str:
        out: list[bytes] = []
        with self.busy:
            self.repl.run(code, out.append)
        text = b"".join(out).decode(errors="replace")
        if "Traceback (most recent call last)" in text:
            raise RuntimeError(text.strip().splitlines()[-1])
        return text

    def _progress(self, title: str) -> ProgressBar:
        # The bar takes no keys: typed-ahead input stays for the prompt.
        return ProgressBar(title=title, output=self.session.output, input=DummyInput())

    def put(self, args: list[str]) -> None:
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
        path = args[0] if args else ""
        self.out.write(self._exec(
            f"for __e in __import__('os').ilistdir({path!r}):\n"
            f"    print('{{:>8}} {{}}{{}}'.format(__e[3] if len(__e) > 3 else 0, __e[0], '/' if __e[1] & 0x4000 else ''))\n"
            "del __e"))

    def heapmap(self, args: list[str]) -> None:
        path = Path(args[0] if args else "heap.png")
        heap = heapmap.parse(self._exec(heapmap.MEM_INFO_CODE))
        heapmap.render(heap, path)
        self.out.write(heapmap.summary(heap, path))

    def run_file(self, args: list[str]) -> None:
        self.run_code(Path(args[0]).read_text())

    def reset(self, args: list[str]) -> None:
        with self.busy:
            self.repl.serial.write(b"\x04")
            self.repl.sync()
        self.out.write("soft reset\n")
        self._refresh_heap()


def main(port: str | None) -> int:
    if port is None:
        from vpyb.host_tools.ports import first_port

        port = first_port()
        if port is None:
            print("vpyb console: no board found; start one with `vpyb` or name a port", file=sys.stderr)
            return 1
    Console(port).loop()
    return 0
