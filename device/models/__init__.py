"""Peripheral models: plain Python classes a test attaches to the board's
buses and UARTs.  The base classes say what a model implements."""
from .base import I2CDevice, RegisterDevice, SPIDevice, UARTPeer
from .eeprom import Eeprom24LC, Eeprom24LC256
from .mma7660 import MMA7660
from .spi_flash import SpiNorFlash
from .uart_links import NoisyLine, crossover
from .uart_peers import LinePeer, PtyBridge

__all__ = ["I2CDevice", "RegisterDevice", "SPIDevice", "UARTPeer", "Eeprom24LC", "Eeprom24LC256",
           "MMA7660", "SpiNorFlash", "LinePeer", "PtyBridge", "NoisyLine", "crossover"]
