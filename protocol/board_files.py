"""Files on a board through its raw REPL: put, get, ls, rm (any MicroPython
board; chunks go as bytes literals and come back as hex)."""
from __future__ import annotations

from pathlib import Path

from .raw_repl import RawRepl

CHUNK = 2048  # bytes per exec: a few raw-paste windows, a small board-side buffer
_MKDIR = """import os as __vo
__vp = ''
for __vn in {path!r}.strip('/').split('/'):
    __vp += '/' + __vn
    try:
        __vo.mkdir(__vp)
    except OSError as __ve:
        if __ve.errno != 17:
            raise
del __vo, __vp, __vn
"""


class BoardFiles:
    def __init__(self, repl: RawRepl) -> None:
        self._repl = repl

    def put(self, data: bytes | str | Path, remote: str) -> None:
        """Writes `data` (bytes, or a local file's path) to `remote` on the board."""
        if not isinstance(data, bytes):
            data = Path(data).read_bytes()
        self._repl.exec(f"__vf = open({remote!r}, 'wb')")
        try:
            for at in range(0, len(data), CHUNK):
                self._repl.exec(f"__vf.write({data[at:at + CHUNK]!r})")
        finally:
            self._repl.exec("__vf.close()\ndel __vf")

    def get(self, remote: str) -> bytes:
        self._repl.exec(f"import binascii as __vb\n__vf = open({remote!r}, 'rb')")
        try:
            chunks = []
            while True:
                text = self._repl.exec(f"print(__vb.hexlify(__vf.read({CHUNK})).decode())").strip()
                if not text:
                    return b"".join(chunks)
                chunks.append(bytes.fromhex(text.decode()))
        finally:
            self._repl.exec("__vf.close()\ndel __vf, __vb")

    def ls(self, path: str = "/flash") -> list[str]:
        """Names in a directory; subdirectories end with '/'."""
        return self._repl.eval(
            f"[e[0] + ('/' if e[1] & 0x4000 else '') for e in __import__('os').ilistdir({path!r})]")

    def mkdir(self, remote: str) -> None:
        """Makes a directory and its parents, unless they exist (EEXIST is 17
        on every port; a mount point such as /flash says it too)."""
        self._repl.exec(_MKDIR.format(path=remote))

    def rm(self, remote: str) -> None:
        self._repl.exec(f"__import__('os').remove({remote!r})")

    def exists(self, remote: str) -> bool:
        out = self._repl.exec(
            f"try:\n    __import__('os').stat({remote!r})\n    print(1)\nexcept OSError:\n    print(0)")
        return out.strip() == b"1"
