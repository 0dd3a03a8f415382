"""A raw REPL / raw-paste client: runs code on any MicroPython board over a
pyserial port or URL (pty, socket://, rfc2217://, /dev/ttyACM0)."""
from __future__ import annotations

import time
from typing import Callable

import serial

from .port_reader import PortReader, open_port
from .constants import (CTRL_A, CTRL_B, CTRL_C, CTRL_D, RAW_PASTE_OK, RAW_PASTE_REQUEST,
                        RAW_PROMPT, RUN_CUT_SHORT, SOFT_REBOOT)


class ReplError(RuntimeError):
    pass


class RemoteError(ReplError):
    """Code on the board raised; `traceback` is the board's text."""

    def __init__(self, traceback: str) -> None:
        super().__init__(traceback.strip().splitlines()[-1] if traceback.strip() else "error")
        self.traceback = traceback


class BoardReset(RemoteError):
    """The board reset while the code ran (a virtual board's core crashed,
    or machine.reset()): it is at its friendly REPL, `enter()` again."""


class RunTimeout(ReplError):
    """The run outlasted its time and was interrupted (Ctrl-C): `output` and
    `error` are what it printed; `stopped`: whether it ended after the Ctrl-C."""

    def __init__(self, seconds: float, output: bytes, error: bytes, stopped: bool) -> None:
        super().__init__(f"the run did not end within {seconds:g} s"
                         + ("" if stopped else "; the board did not stop at Ctrl-C"))
        self.output, self.error, self.stopped = output, error, stopped


class RawRepl:
    def __init__(self, port: str | serial.SerialBase, timeout: float = 10.0) -> None:
        self.serial = open_port(port, timeout)
        self.timeout = timeout
        self.reader = PortReader(self.serial, timeout)
        self.use_raw_paste = True
        self.in_raw = False

    def close(self) -> None:
        if self.in_raw:
            self.exit()
        self.serial.close()

    def __enter__(self) -> "RawRepl":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def read_until(self, ending: bytes, timeout: float | None = None) -> bytes:
        try:
            return self.reader.read_until(ending, timeout)
        except TimeoutError as e:
            raise ReplError(str(e)) from None

    # --- modes -------------------------------------------------------
    def enter(self, soft_reset: bool = False) -> None:
        # Output from before is dropped unread, so the first banner that
        # comes is the answer to this Ctrl-A (the board answers in order).
        self.reader.drop_stale()
        self.serial.write(b"\r" + CTRL_C + b"\r" + CTRL_A)
        self.read_until(RAW_PROMPT)
        if soft_reset:
            self.serial.write(CTRL_D)
            self.read_until(SOFT_REBOOT)
            self.read_until(RAW_PROMPT)
        self.in_raw = True

    def exit(self) -> None:
        self.serial.write(b"\r" + CTRL_B)
        self.in_raw = False

    # --- running code ------------------------------------------------
    def exec_raw(self, code: str | bytes, on_output: Callable[[bytes], bool | None] | None = None,
                 timeout: float | None = None) -> tuple[bytes, bytes]:
        """Runs code at the raw prompt (the `>` already consumed or pending);
        returns (stdout, error text).  on_output, timeout (default: the
        port's): see follow()."""
        if isinstance(code, str):
            code = code.encode()
        if self.use_raw_paste:
            self.serial.write(RAW_PASTE_REQUEST)
            reply = self.reader.read_exactly(2)
            if reply == RAW_PASTE_OK:
                self._raw_paste(code)
            else:
                self.use_raw_paste = False
                self.read_until(b">")
                self._classic(code)
        else:
            self._classic(code)
        return self.follow(on_output, self.timeout if timeout is None else timeout)

    def follow(self, on_output: Callable[[bytes], bool | None] | None, timeout: float,
               grace: float = 2.0) -> tuple[bytes, bytes]:
        """Reads a submitted run to its end: (stdout, error text), the raw
        REPL's framing taken off.  on_output(chunk) sees what the board prints
        as it comes, the output then the error text; returning True asks for
        the run to be interrupted (Ctrl-C).  A run still going after `timeout`
        seconds is interrupted and RunTimeout raised once it ends (or after
        `grace` more seconds)."""
        parts = (bytearray(), bytearray())  # stdout, error text
        part = 0
        deadline = time.monotonic() + timeout
        timed_out = interrupted = False
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                if timed_out:
                    raise RunTimeout(timeout, bytes(parts[0]), bytes(parts[1]), stopped=False)
                timed_out = True
                if not interrupted:
                    self.serial.write(CTRL_C)
                    interrupted = True
                deadline = time.monotonic() + grace
                continue
            # The port's own timeout unless the deadline is nearer: changing
            # it costs a tcsetattr, a round trip's worth.
            chunk = self.reader.read_available(min(self.timeout, left))
            while chunk and part < 2:
                end = chunk.find(CTRL_D)
                piece, chunk = (chunk, b"") if end < 0 else (chunk[:end], chunk[end + 1:])
                parts[part].extend(piece)
                if piece and on_output is not None and on_output(piece) and not interrupted:
                    self.serial.write(CTRL_C)
                    interrupted = True
                if end >= 0:
                    part += 1
            if part == 2:
                break
        self.reader.unread(chunk)
        self.read_until(b">")
        out, err = bytes(parts[0]), bytes(parts[1])
        if err.startswith(RUN_CUT_SHORT):
            self.in_raw = False  # a new core, at its friendly REPL
        if timed_out:
            raise RunTimeout(timeout, out, err, stopped=True)
        return out, err

    def _classic(self, code: bytes) -> None:
        for i in range(0, len(code), 256):
            self.serial.write(code[i : i + 256])
        self.serial.write(CTRL_D)
        if self.reader.read_exactly(2) != b"OK":
            raise ReplError("the board did not accept the code")

    def _raw_paste(self, code: bytes) -> None:
        # protocol-facts.md 4.2: send within the window; each \x01 grants one
        # more; a \x04 means the board ended the transfer early.
        window = int.from_bytes(self.reader.read_exactly(2), "little")
        remain = window  # the header grants one window; the \x01 after it another
        i = 0
        while i < len(code):
            if remain == 0 or self.reader.waiting():
                flow = self.reader.read_available(self.timeout)
                if CTRL_D in flow:
                    # Ended early: what follows the \x04 is the run's output.
                    self.reader.unread(flow[flow.index(CTRL_D) + 1:])
                    self.serial.write(CTRL_D)
                    return
                if flow.strip(b"\x01"):
                    raise ReplError(f"unexpected {flow!r} during raw-paste")
                remain += window * len(flow)
                continue
            n = min(remain, len(code) - i)
            i += n
            # The end marker goes with the last chunk: one write, one wake-up of the board.
            self.serial.write(code[i - n : i] + (CTRL_D if i == len(code) else b""))
            remain -= n
        if not code:
            self.serial.write(CTRL_D)
        self.read_until(CTRL_D)

    def exec(self, code: str | bytes) -> bytes:
        """Runs code and returns its output; raises RemoteError if it raised."""
        out, err = self.exec_raw(code)
        if err:
            kind = BoardReset if err.startswith(RUN_CUT_SHORT) else RemoteError
            raise kind(err.decode(errors="replace"))
        return out

    def eval(self, expression: str):
        import ast

        return ast.literal_eval(self.exec(f"print(repr({expression}))").decode().strip())
