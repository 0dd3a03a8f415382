"""What a person types at `vpyb console`: the entry editor's keys (when
Enter runs an entry, the indent it gives, Ctrl-D, the exit key), completion
from the names on the board, and history kept per board."""
from __future__ import annotations

import codeop
import hashlib
import os
import re
import threading
from pathlib import Path
from typing import Callable

from platformdirs import user_state_dir
from prompt_toolkit.completion import Completer, Completion
from prompt_toolkit.key_binding import KeyBindings

from vpyb.device.registry import RunningBoard, running_boards
from vpyb.protocol.friendly_client import BoardReplyError, FriendlyRepl

EXIT_KEY = "c-]"
_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_.]*$")


def virtual_board(port: str) -> RunningBoard | None:
    """The running virtual board on this port (named by its pty or a link to it)."""
    pty = os.path.realpath(port)
    return next((b for b in running_boards() if b.port == pty), None)


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


class Leave(Exception):
    """The person leaves the console."""


def key_bindings() -> KeyBindings:
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
        event.app.exit(exception=Leave)

    return kb
