# The board's `pyb` module: timing, reset and identity.  The peripheral
# classes arrive with the hardware model; until then using one is an error.
__name__ = "pyb"

import fw_machine
import fw_os
import fw_time

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
