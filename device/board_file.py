"""Wiring a board from a TOML file (`vpyb run --board board.toml`).

    [[jumper]]                      # a wire between two pins
    pins = ["X1", "X2"]
    [[i2c]]                         # a model on an I2C bus
    bus = 1                         # or scl = "X1", sda = "X2"
    address = 0x50
    model = "Eeprom24LC256"         # a class of vpyb.device.models
    [[spi]]
    bus = 1
    cs = "X5"
    model = "SpiNorFlash"
    args = { size = 2097152 }       # keyword arguments for the model
    [uart.6]
    replies = { "AT" = "OK\\r\\n" } # a LinePeer answering lines
    [uart.3]
    bridge = "pty"                  # a PtyBridge; its path is logged
    [adc]
    X19 = 2048                      # 12-bit readings
    [pins]
    Y1 = 1                          # levels the outside world drives
"""
from __future__ import annotations

import sys
from pathlib import Path
from typing import Any, Callable

from . import models
from .hardware import Hardware
from .pins import index as pin_index

if sys.version_info >= (3, 11):
    import tomllib
else:
    import tomli as tomllib


def _model(entry: dict[str, Any]) -> Any:
    name = entry.get("model")
    cls = getattr(models, name, None) if isinstance(name, str) else None
    if cls is None:
        raise ValueError(f"unknown model {name!r}: one of {', '.join(models.__all__)}")
    return cls(**entry.get("args", {}))


def wire(hw: Hardware, path: str | Path, log: Callable[[str], None]) -> None:
    """Applies the board file at path to the hardware."""
    conf = tomllib.loads(Path(path).read_text())
    unknown = set(conf) - {"jumper", "i2c", "spi", "uart", "adc", "pins"}
    if unknown:
        raise ValueError(f"{path}: unknown section(s) {', '.join(sorted(unknown))}")
    for j in conf.get("jumper", []):
        hw.jumper(*j["pins"])
    for d in conf.get("i2c", []):
        bus = hw.i2c(d.get("bus"), scl=d.get("scl"), sda=d.get("sda"))
        bus.attach(d["address"], _model(d), power=d.get("power"))
    for d in conf.get("spi", []):
        hw.spi(d.get("bus"), sck=d.get("sck")).attach(_model(d), cs=d["cs"])
    for unit, d in conf.get("uart", {}).items():
        port = hw.uart(int(unit) if unit.isdigit() else unit)
        if d.get("bridge") == "pty":
            port.peer = models.PtyBridge()
            log(f"UART({unit}) is bridged to {port.peer.path}")
        elif "replies" in d:
            port.peer = models.LinePeer(d["replies"])
        elif "model" in d:
            port.peer = _model(d)
    for name, value in conf.get("adc", {}).items():
        hw.set_adc(name, value)
    for name, level in conf.get("pins", {}).items():
        hw.drive(pin_index(name), level)
