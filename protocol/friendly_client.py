"""Running code at a board's friendly REPL, as a person would, but without
the echo: each piece of code goes through paste mode (Ctrl-E ... Ctrl-D), so
expression values print and tracebacks read exactly as at the `>>>` prompt.
Works with any MicroPython board on a pyserial port or URL."""
from __future__ import annotations

import time
from typing import Callable

import serial

from .constants import CTRL_C, CTRL_D, CTRL_E, FRIENDLY_PROMPT, PASTE_BANNER
from .port_reader import PortReader, open_port

# A prompt counts only when nothing follows it this long (Thonny's rule):
# program output may itself contain ">>> ".
PROMPT_QUIET = 0.01


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
            keys: Callable[[], bytes] = lambda: b"") -> None:
        """Runs code; board output goes to on_output as it arrives (the final
        prompt excluded).  Ctrl-C goes to the board when interrupted() turns
        true or this process gets a KeyboardInterrupt (the user's Ctrl-C).
        keys() gives what the user typed meanwhile, passed on to the board
        (for input() on the board)."""
        lines = code.replace("\r\n", "\n").rstrip("\n").split("\n")
        self.serial.write(CTRL_E)
        self.reader.read_until(PASTE_BANNER)
        for line in lines:
            data = line.encode() + b"\r"
            self.serial.write(data)
            self.reader.read_until(line.encode() + b"\r\n=== ")
        self.serial.write(CTRL_D)
        self.reader.read_until(b"\r\n")
        self._stream(on_output, interrupted, keys)

    def _stream(self, on_output: Callable[[bytes], None], interrupted: Callable[[], bool],
                keys: Callable[[], bytes] = lambda: b"") -> None:
        held = b""  # a tail that may be (the start of) the final prompt
        sent_ctrl_c = False
        while True:
            try:
                if interrupted() and not sent_ctrl_c:
                    raise KeyboardInterrupt
                typed = keys()
                if typed:
                    self.serial.write(typed.replace(b"\n", b"\r"))
                chunk = self.reader.read_available(PROMPT_QUIET)
            except KeyboardInterrupt:
                if not sent_ctrl_c:
                    self.serial.write(CTRL_C)
                    sent_ctrl_c = True
                continue
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
        """repr() of an expression, without binding `_` or any name."""
        out: list[bytes] = []
        self.run(f"print(repr({expression}))", out.append)
        return b"".join(out).decode(errors="replace").strip()
