"""Peripheral models: plain Python classes a test attaches to the board's
buses and UARTs.  The base classes say what a model implements.

Each is imported when first named, so a board that uses none pays nothing.
"""
from importlib import import_module

_HOMES = {
    "I2CDevice": "base", "RegisterDevice": "base", "SPIDevice": "base", "UARTPeer": "base",
    "Eeprom24LC": "eeprom", "Eeprom24LC256": "eeprom", "MMA7660": "mma7660",
    "SpiNorFlash": "spi_flash", "NoisyLine": "uart_links", "crossover": "uart_links",
    "LinePeer": "uart_peers", "PtyBridge": "uart_peers",
}
__all__ = list(_HOMES)


def __getattr__(name: str):
    if name not in _HOMES:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(import_module(f"{__name__}.{_HOMES[name]}"), name)
