"""Running code at a board's friendly REPL, as a person would, but without
the echo: each piece of code goes through paste mode (Ctrl-E ... Ctrl-D), so
expression values print and tracebacks read exactly as at the `>>>` prompt.
Works with any MicroPython board on a pyserial port or URL."""
from __future__ import annotations

import ast
import time
from typing import Any, Callable

import serial

from .constants import CTRL_C, CTRL_D, CTRL_E, FRIENDLY_PROMPT, PASTE_BANNER
from .port_reader import PortReader, open_port

# A prompt counts only when nothing follows it this long (Thonny's rule):
# program output may itself contain ">>> ".
PROMPT_QUIET = 0.01
# Longest answer eval_repr() takes from a board: a tool's question (a list of
# names, a chunk of a file) has a short answer; a board that talks on is cut off.
REPLY_LIMIT = 1 << 20


class BoardReplyError(ValueError):
    """A board's answer is not what was asked for: it is refused, never run."""


def read_literal(text: str, kind: type) -> Any:
    """The Python literal of type `kind` that a board printed.  Read with
    ast.literal_eval, never eval: a board (its main.py can rebind `repr` or
    `sorted`) must not run code on this host."""
    try:
        value = ast.literal_eval(text)
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        value = None
    if type(value) is not kind:  # exact: a bool is no int here
        raise BoardReplyError(f"the board's reply is not a {kind.__name__} literal: {text[:80]!r}")
    return value


def _prompt_prefix_at_end(data: bytes) -> int:
    """Length of the longest start of the prompt that data ends with."""
    for k in range(min(len(FRIENDLY_PROMPT), len(data)), 0, -1):
        if data.endswith(FRIENDLY_PROMPT[:k]):
            return k
    return 0


class FriendlyRepl:
    def __init__(self, port: str | serial.SerialBase, timeout: float = 10.0) -> None:
        self.serial = open_port(port, timeout)
        self.timeout = timeout
        self.reader = PortReader(self.serial, timeout)

    def close(self) -> None:
        self.serial.close()

    def sync(self) -> None:
        """To a clean friendly prompt: leave raw mode, cancel any input."""
        self.serial.write(b"\r\x02")
        time.sleep(0.05)
        self.serial.write(b"\r" + CTRL_C)
        self.reader.read_until(FRIENDLY_PROMPT)
        self.reader.discard(PROMPT_QUIET * 5)

    def run(self, code: str, on_output: Callable[[bytes], None],
            interrupted: Callable[[], bool] = lambda: False,
            keys: Callable[[], bytes] = lambda: b"", patience: float | None = None) -> None:
        """Runs code; board output goes to on_output as it arrives (the final
        prompt excluded).  Ctrl-C goes to the board when interrupted() turns
        true or this process gets a KeyboardInterrupt (the user's Ctrl-C).
        keys() gives what the user typed meanwhile, passed on to the board
        (for input() on the board).  With `patience`, a board still not at
        its prompt that long after the Ctrl-C raises TimeoutError."""
        lines = code.replace("\r\n", "\n").rstrip("\n").split("\n")
        self.serial.write(CTRL_E)
        self.reader.read_until(PASTE_BANNER)
        for line in lines:
            data = line.encode() + b"\r"
            self.serial.write(data)
            self.reader.read_until(line.encode() + b"\r\n=== ")
        self.serial.write(CTRL_D)
        self.reader.read_until(b"\r\n")
        self._stream(on_output, interrupted, keys, patience)

    def _stream(self, on_output: Callable[[bytes], None], interrupted: Callable[[], bool],
                keys: Callable[[], bytes], patience: float | None) -> None:
        held = b""  # a tail that may be (the start of) the final prompt
        ctrl_c_at: float | None = None
        while True:
            try:
                if interrupted() and ctrl_c_at is None:
                    raise KeyboardInterrupt
                typed = keys()
                if typed:
                    self.serial.write(typed.replace(b"\n", b"\r"))
                chunk = self.reader.read_available(PROMPT_QUIET)
            except KeyboardInterrupt:
                if ctrl_c_at is None:
                    self.serial.write(CTRL_C)
                    ctrl_c_at = time.monotonic()
                continue
            if patience is not None and ctrl_c_at is not None and time.monotonic() - ctrl_c_at > patience:
                raise TimeoutError("the board did not come back to its prompt after Ctrl-C")
            if not chunk:  # quiet: a whole prompt ends the run
                if held == FRIENDLY_PROMPT:
                    return
                if held:
                    on_output(held)
                    held = b""
                continue
            data = held + chunk
            keep = _prompt_prefix_at_end(data)
            held = data[len(data) - keep:]
            if keep < len(data):
                on_output(data[: len(data) - keep])

    def eval_repr(self, expression: str) -> str:
        """What the board prints for repr() of an expression, without binding
        `_` or any name.  An answer longer than REPLY_LIMIT or slower than the
        timeout is cut off with Ctrl-C and refused."""
        out = bytearray()
        deadline = time.monotonic() + self.timeout

        def collect(data: bytes) -> None:
            out.extend(data[: REPLY_LIMIT + 1 - len(out)])

        def cut_off() -> bool:
            return len(out) > REPLY_LIMIT or time.monotonic() > deadline

        self.run(f"print(repr({expression}))", collect, cut_off, patience=self.timeout)
        if len(out) > REPLY_LIMIT:
            raise BoardReplyError(f"the board's reply is over {REPLY_LIMIT} bytes")
        if time.monotonic() > deadline:
            raise TimeoutError(f"no answer from the board within {self.timeout} s")
        text = out.decode(errors="replace").strip()
        if text.startswith("Traceback (most recent call last)"):
            raise RuntimeError(text.splitlines()[-1])
        return text

    def eval_literal(self, expression: str, kind: type) -> Any:
        """The value of an expression on the board, as a literal of type
        `kind` (BoardReplyError if the board answers anything else)."""
        return read_literal(self.eval_repr(expression), kind)
