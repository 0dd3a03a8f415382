# The board's `pyb` module (ports/stm32/modpyb.c): timing, reset, identity
# and the peripheral classes, shared with `machine` where the port shares them.
__name__ = "pyb"

import fw_adc
import fw_bus
import fw_i2c
import fw_machine
import fw_onboard
import fw_os
import fw_pins
import fw_spi
import fw_time
import fw_timer
import fw_uart

Pin = fw_pins.Pin
ExtInt = fw_pins.ExtInt
LED = fw_onboard.LED
Switch = fw_onboard.Switch
Accel = fw_onboard.Accel
UART = fw_uart.UART
I2C = type("I2C", (fw_i2c.PybI2C,), {})
SPI = type("SPI", (fw_spi.PybSPI,), {})
ADC = fw_adc.ADC
Timer = fw_timer.Timer
ADCAll = fw_bus.unmodelled("ADCAll")
DAC = fw_bus.unmodelled("DAC")
CAN = fw_bus.unmodelled("CAN")
Servo = fw_bus.unmodelled("Servo")
LCD = fw_bus.unmodelled("LCD")
SD = SDCard = fw_bus.unmodelled("SDCard")
USB_HID = fw_bus.unmodelled("USB_HID")
USB_VCP = fw_bus.unmodelled("USB_VCP")

RTC = fw_machine.RTC
hard_reset = fw_machine.reset
bootloader = fw_machine.bootloader
unique_id = fw_machine.unique_id
freq = fw_machine.freq
disable_irq = fw_machine.disable_irq
enable_irq = fw_machine.enable_irq
delay = fw_time.sleep_ms
udelay = fw_time.sleep_us
millis = fw_time.ticks_ms
micros = fw_time.ticks_us

_main_file = ["main.py"]


def elapsed_millis(start):
    return (fw_time.ticks_ms() - start) & 0x3FFFFFFF


def elapsed_micros(start):
    return (fw_time.ticks_us() - start) & 0x3FFFFFFF


def main(filename, opt=0):
    # Only meaningful in boot.py: names the script to run instead of main.py.
    _main_file[0] = filename


sync = fw_os.sync


def have_cdc():
    return True


def wfi():
    fw_time.sleep_ms(1)


def repl_uart(uart=None):
    # The REPL stays on the USB VCP.
    if uart is not None:
        raise NotImplementedError("the REPL on a UART is not modelled")


rng = fw_machine.rng
