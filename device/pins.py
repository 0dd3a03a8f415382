"""Pin names of a PYBv1.1 (ports/stm32/boards/PYBV11/pins.csv) and pin
levels as the host sees them.  Pins are numbered port*16 + pin (A0 = 0)."""
from __future__ import annotations

from .regfile import GPIO_MODER, GPIO_ODR, GPIO_OTYPER, GPIO_PUPDR, RegisterView

BOARD = {
    "X1": "A0", "X2": "A1", "X3": "A2", "X4": "A3", "X5": "A4", "X6": "A5", "X7": "A6",
    "X8": "A7", "X9": "B6", "X10": "B7", "X11": "C4", "X12": "C5", "X17": "B3", "X18": "C13",
    "X19": "C0", "X20": "C1", "X21": "C2", "X22": "C3", "Y1": "C6", "Y2": "C7", "Y3": "B8",
    "Y4": "B9", "Y5": "B12", "Y6": "B13", "Y7": "B14", "Y8": "B15", "Y9": "B10", "Y10": "B11",
    "Y11": "B0", "Y12": "B1", "SW": "B3", "LED_RED": "A13", "LED_GREEN": "A14",
    "LED_YELLOW": "A15", "LED_BLUE": "B4", "MMA_INT": "B2", "MMA_AVDD": "B5", "SD_D0": "C8",
    "SD_D1": "C9", "SD_D2": "C10", "SD_D3": "C11", "SD_CMD": "D2", "SD_CK": "C12", "SD": "A8",
    "SD_SW": "A8", "USB_VBUS": "A9", "USB_ID": "A10", "USB_DM": "A11", "USB_DP": "A12",
}
LED_PINS = {1: "A13", 2: "A14", 3: "A15", 4: "B4"}  # LED(1..4): red, green, yellow, blue
# ADC1 channel of each pin that has one (stm32f405_af.csv).
ADC_CHANNELS = {**{f"A{n}": n for n in range(8)}, "B0": 8, "B1": 9,
                **{f"C{n}": 10 + n for n in range(6)}}


def cpu_index(name: str) -> int:
    port, num = name[:1], name[1:]
    if port in "ABC" and num.isdigit() and int(num) <= (13 if port == "C" else 15) and str(int(num)) == num:
        return "ABC".index(port) * 16 + int(num)
    if name == "D2":
        return 50
    raise ValueError(f"Pin({name}) doesn't exist")


def index(name: str) -> int:
    """Pin index of a board name ('X1') or CPU name ('A0', 'PA0')."""
    cpu = BOARD.get(name, name[1:] if name.startswith("P") and len(name) > 2 else name)
    return cpu_index(cpu)


def cpu_name(pin: int) -> str:
    return "ABCDEFGHI"[pin // 16] + str(pin % 16)


def level(regs: RegisterView, pin: int, jumpers: dict[int, int]) -> int:
    """The pin's line level, resolved as fw_regs.level does on the board."""
    port, bit = divmod(pin, 16)

    def drives(p: int) -> bool:
        return (regs.gpio(p // 16, GPIO_MODER) >> (p % 16 * 2) & 3) in (1, 2)

    def odr(p: int) -> int:
        return regs.gpio(p // 16, GPIO_ODR) >> (p % 16) & 1

    open_drain_high = regs.gpio(port, GPIO_OTYPER) >> bit & 1 and odr(pin)
    if drives(pin) and not open_drain_high:
        return odr(pin)
    ext = regs.ext(pin)
    if ext is not None:
        return ext
    other = jumpers.get(pin)
    if other is not None and drives(other):
        return odr(other)
    pull = regs.gpio(port, GPIO_PUPDR) >> (bit * 2) & 3
    return 1 if pull == 1 or (pull != 2 and drives(pin)) else 0


def input_register(regs: RegisterView, port: int, jumpers: dict[int, int]) -> int:
    return sum(level(regs, port * 16 + b, jumpers) << b for b in range(16))



def led_intensity(regs: RegisterView, n: int, jumpers: dict[int, int]) -> int:
    """LED(n)'s brightness 0..255: its PWM setting, else its pin's level."""
    return regs.led_intensity(n) or 255 * level(regs, cpu_index(LED_PINS[n]), jumpers)
