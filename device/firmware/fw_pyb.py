# The board's `pyb` module (ports/stm32/modpyb.c): timing, reset, identity
# and the peripheral classes, shared with `machine` where the port shares them.
__name__ = "pyb"

from fw_adc import ADC, ADCAll
from fw_can import CAN
from fw_bus import unmodelled as _unmodelled
from fw_dac import DAC
from fw_i2c import PybI2C as _PybI2C
from fw_machine import (RTC, bootloader, deepsleep as standby, disable_irq, enable_irq, freq, info,
                        lightsleep as stop, reset as hard_reset, rng, unique_id)
from fw_onboard import Accel, LED, Switch
from fw_os import mount, sync
from fw_pins import ExtInt, Pin
from fw_servo import Servo, pwm, servo
from fw_spi import PybSPI as _PybSPI
from fw_time import sleep_ms as delay, sleep_us as udelay, ticks_ms as millis, ticks_us as micros
from fw_timer import Timer
from fw_uart import UART
from fw_usb import hid, hid_keyboard, hid_mouse, usb_mode

I2C = type("I2C", (_PybI2C,), {})
SPI = type("SPI", (_PybSPI,), {})
LCD = _unmodelled("LCD")
SD = SDCard = _unmodelled("SDCard")
USB_HID = _unmodelled("USB_HID")
USB_VCP = _unmodelled("USB_VCP")
del _unmodelled, _PybI2C, _PybSPI

_main_file = ["main.py"]


def elapsed_millis(start):
    return (millis() - start) & 0x3FFFFFFF


def elapsed_micros(start):
    return (micros() - start) & 0x3FFFFFFF


def main(filename, opt=0):
    # Only meaningful in boot.py: names the script to run instead of main.py.
    _main_file[0] = filename


def have_cdc():
    return True


def fault_debug(value):
    # Says what a hard fault does on a board (print its registers and wait,
    # or reset); vpyb has no hard faults: a crashed core is a hard reset.
    pass


def wfi():
    delay(1)


def repl_uart(uart=None):
    # The REPL stays on the USB VCP.
    if uart is not None:
        raise NotImplementedError("the REPL on a UART is not modelled")

