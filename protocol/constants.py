"""Byte strings of the MicroPython serial protocol (protocol-facts.md)."""
CTRL_A = b"\x01"
CTRL_B = b"\x02"
CTRL_C = b"\x03"
CTRL_D = b"\x04"
CTRL_E = b"\x05"

RAW_BANNER = b"raw REPL; CTRL-B to exit\r\n"  # shared/runtime/pyexec.c
RAW_PROMPT = RAW_BANNER + b">"
FRIENDLY_PROMPT = b">>> "
SOFT_REBOOT = b"MPY: soft reboot\r\n"  # ports/stm32/main.c
SYNC_FS = b"MPY: sync filesystems\r\n"
RAW_PASTE_REQUEST = b"\x05A\x01"
RAW_PASTE_OK = b"R\x01"
RAW_PASTE_UNSUPPORTED = b"R\x00"
PASTE_BANNER = b"\r\npaste mode; Ctrl-C to cancel, Ctrl-D to finish\r\n=== "
# vpyb's error text for a raw-REPL run its core's death cut short
# (device/raw_runs.py): this, then what happened, e.g. "core crashed (SIGSEGV):
# hard reset".  The board then starts again at its friendly REPL.
RUN_CUT_SHORT = b"vpyb: "
