"""MicroPython code that runs on the board's core (frozen into a ROMFS image)."""
