"""The hardware model end to end: host-side models attached through the
VirtualBoard API, user code run on the board through its pty (raw REPL
client and mpremote), assertions on both sides."""
from __future__ import annotations

import re
import threading
import time
from pathlib import Path

import pytest
import serial

from vpyb.device import regfile
from vpyb.device.models import Eeprom24LC256, LinePeer, PtyBridge, RegisterDevice, SpiNorFlash
from vpyb.protocol.raw_repl import RemoteError

from conftest import mpremote


@pytest.fixture
def hw_board(hw):
    # hw, and the board's last core gone once it is stopped.
    yield hw
    board, repl = hw
    repl.close()  # while its port is there (closing leaves the raw REPL)
    pid = board.core_pid
    board.stop()
    assert not Path(f"/proc/{pid}").exists() or "zombie" in Path(f"/proc/{pid}/status").read_text()


def test_register_file_layout_matches_firmware():
    fw = (Path(regfile.__file__).parent / "firmware" / "fw_regs.py").read_text().lower()
    for base, size in regfile.REGIONS:
        assert f"({base:#x}, {size:#x})" in fw
    for name in ("P_EXT_LEVEL", "P_EXT_DRIVEN", "P_JUMPERS", "P_LED", "P_ADC", "P_WATCH"):
        assert f"_{name.lower()} = const({getattr(regfile, name):#x})" in fw, name


def test_led_toggle_stm_mem16_and_viper(hw_board):
    board, repl = hw_board
    assert not board.led(2).on
    repl.exec("import pyb; pyb.LED(2).toggle()")
    assert board.led(2).on and not board.led(1).on
    repl.exec("import machine, stm; machine.mem16[stm.GPIOA + stm.GPIO_ODR] ^= 1 << 14")
    assert not board.led(2).on
    assert board.pin("X1").value == 0
    repl.exec("import micropython\n"
              "@micropython.viper\n"
              "def toggle_x1():\n"
              "    p = ptr16(stm.GPIOA + stm.GPIO_ODR)\n"
              "    p[0] ^= 1\n"
              "machine.Pin('X1', machine.Pin.OUT)\n"
              "toggle_x1()\n")
    assert board.pin("X1").value == 1
    # BSRR sets and resets ODR bits, as tests/ports/stm32/modstm.py expects.
    out = repl.exec("stm.mem32[stm.GPIOA + stm.GPIO_BSRR] = 1 << 15\n"
                    "print(hex(stm.mem32[stm.GPIOA + stm.GPIO_ODR] & 0x8000))\n"
                    "stm.mem32[stm.GPIOA + stm.GPIO_BSRR] = 1 << (15 + 16)\n"
                    "print(hex(stm.mem32[stm.GPIOA + stm.GPIO_ODR] & 0x8000))")
    assert out == b"0x8000\r\n0x0\r\n"
    assert repl.eval("[pyb.LED(3).intensity(), pyb.LED(4).intensity(100), pyb.LED(4).intensity()]") == [0, None, 100]
    assert board.led(4).intensity == 100


def test_i2c_register_device_and_nack(hw_board):
    board, repl = hw_board
    sensor = board.i2c(1).attach(0x48, RegisterDevice(registers=b"\x19\x80"))
    repl.exec("from machine import I2C; i2c = I2C(1)")
    assert repl.eval("i2c.scan()") == [0x48]  # the accelerometer is powered off
    assert repl.eval("i2c.readfrom_mem(0x48, 0, 2)") == b"\x19\x80"
    repl.exec("i2c.writeto_mem(0x48, 5, b'\\x12\\x34')")
    assert sensor.registers[5:7] == b"\x12\x34"
    with pytest.raises(RemoteError, match=r"OSError: \[Errno 19\] ENODEV"):
        repl.exec("i2c.readfrom(0x50, 1)")
    with pytest.raises(RemoteError, match=r"OSError: \[Errno 5\] EIO"):
        repl.exec("import pyb; pyb.I2C(1, pyb.I2C.CONTROLLER).recv(1, 0x50)")
    board.i2c(1).stuck = True
    with pytest.raises(RemoteError, match=r"ETIMEDOUT"):
        repl.exec("i2c.readfrom(0x48, 1)")


def test_eeprom_page_write_and_accelerometer(hw_board):
    board, repl = hw_board
    eeprom = board.i2c(1).attach(0x50, Eeprom24LC256())
    repl.exec("from machine import I2C; i2c = I2C(1)\n"
              "i2c.writeto_mem(0x50, 0x3E, b'ABCD', addrsize=16)")
    assert eeprom.registers[0x3E:0x40] == b"AB" and eeprom.registers[0:2] == b"CD"  # page wrap
    assert repl.eval("i2c.readfrom_mem(0x50, 0x3E, 2, addrsize=16)") == b"AB"
    board.accel.tilt_to(5, -3, 20)
    assert repl.eval("(lambda a: (a.x(), a.y(), a.z(), I2C(1).scan()))(__import__('pyb').Accel())") == (5, -3, 20, [0x4C, 0x50])


def test_spi_flash_with_chip_select(hw_board):
    board, repl = hw_board
    flash = board.spi(1).attach(SpiNorFlash(), cs="X5")
    out = repl.eval("(lambda cs, spi: [cs(0), spi.write(b'\\x9f'), spi.read(3), cs(1),"
                    " cs(0), spi.write(b'\\x06'), cs(1), cs(0), spi.write(b'\\x02\\x00\\x01\\x00hi'), cs(1),"
                    " cs(0), spi.write(b'\\x03\\x00\\x01\\x00'), spi.read(2), cs(1)])"
                    "(__import__('machine').Pin('X5', 1, value=1), __import__('machine').SPI(1))")
    assert out[2] == b"\xef\x40\x14"
    assert out[12] == b"hi"
    assert flash.data[0x100:0x102] == b"hi"
    # Nobody selected: the bus reads 0xFF.
    assert repl.eval("__import__('machine').SPI(2).read(2)") == b"\xff\xff"


def test_uart_loopback_via_jumper_and_line_peer(hw_board):
    board, repl = hw_board
    board.jumper("X1", "X2")  # tests/target_wiring/PYBx.py
    assert repl.eval("(lambda u: (u.write(b'ping'), u.read(4)))(__import__('machine').UART('XA', 115200, timeout=100))") == (4, b"ping")
    peer = board.uart(6).peer = LinePeer({"AT": "OK\r\n"})
    assert repl.eval("(lambda u: (u.write(b'AT\\r\\n'), u.readline()))(__import__('pyb').UART(6, 9600, timeout=200))") == (4, b"OK\r\n")
    assert peer.lines == ["AT"]


def test_uart_bridged_to_a_pty(hw_board):
    board, repl = hw_board
    bridge = PtyBridge()
    board.uart(3).peer = bridge
    repl.exec("from machine import UART; u = UART(3, 115200, timeout=500)")
    with serial.Serial(bridge.path, timeout=2) as far:
        repl.exec("u.write(b'hello from the board\\n')")
        assert far.readline() == b"hello from the board\n"
        far.write(b"and back\n")
        assert repl.eval("u.readline()") == b"and back\n"


def test_pin_irq_fired_by_host_edge_and_switch_callback(hw_board):
    board, repl = hw_board
    repl.exec("from machine import Pin\n"
              "edges = []\n"
              "p = Pin('Y1', Pin.IN, Pin.PULL_DOWN)\n"
              "p.irq(lambda pin: edges.append(pin.value()), Pin.IRQ_RISING | Pin.IRQ_FALLING)\n"
              "import pyb\n"
              "presses = []\n"
              "pyb.Switch().callback(lambda: presses.append(1))")
    assert repl.eval("p.value()") == 0
    board.pin("Y1").drive(1)
    time.sleep(0.05)
    board.pin("Y1").drive(0)
    time.sleep(0.05)
    assert repl.eval("edges") == [1, 0]
    assert repl.eval("pyb.Switch().value()") is False
    # The switch is pressed while the board spins in a busy loop: the IRQ still runs.
    threading.Timer(0.1, board.press_switch).start()
    repl.exec("t = pyb.millis()\n"
              "while not presses and pyb.elapsed_millis(t) < 2000:\n"
              "    pass")
    assert repl.eval("(presses, pyb.elapsed_millis(t) < 2000)") == ([1], True)
    assert repl.eval("pyb.Switch()()") is True
    board.release_switch()


def test_adc_and_timer_callback(hw_board):
    board, repl = hw_board
    board.set_adc("X19", 3000)
    assert repl.eval("__import__('pyb').ADC('X19').read()") == 3000
    assert repl.eval("repr(__import__('pyb').ADC('X19'))") == "<ADC on X19 channel=10>"
    assert repl.eval("__import__('machine').ADC('X19').read_u16()") == 3000 << 4 | 3000 >> 8
    with pytest.raises(RemoteError, match=r"ValueError: Pin\(B6\) doesn't have ADC capabilities"):
        repl.exec("pyb.ADC('X9')")
    # The callback is a hard IRQ: it may not allocate, so it counts in place.
    repl.exec("n = [0]\n"
              "def tick(t):\n"
              "    n[0] += 1\n"
              "pyb.Timer(4, freq=100, callback=tick)\n"
              "pyb.delay(300)\n"
              "pyb.Timer(4).deinit()")
    assert 20 <= repl.eval("n[0]") <= 32
    out = repl.exec("pyb.Timer(4, freq=100, callback=lambda t: bytearray(100))\n"
                    "pyb.delay(50)").decode()
    assert "uncaught exception in Timer 4 interrupt handler" in out
    assert "MemoryError: memory allocation failed, heap is locked" in out


def test_errors_match_the_board(hw_board):
    _, repl = hw_board
    for code, text in (("pyb.LED(5)", "ValueError: LED(5) doesn't exist"),
                       ("machine.UART(5)", "ValueError: UART(5) doesn't exist"),
                       ("machine.I2C(3)", "ValueError: I2C(3) doesn't exist"),
                       ("machine.SPI('Z')", "ValueError: SPI(Z) doesn't exist"),
                       ("machine.Pin('X13')", "ValueError: Pin(X13) doesn't exist"),
                       ("machine.I2C(1).write(b'')", "OSError: I2C operation not supported"),
                       ("pyb.LCD('X')", "NotImplementedError: LCD is not modelled on the virtual board")):
        with pytest.raises(RemoteError, match=re.escape(text)):
            repl.exec(f"import pyb, machine\n{code}")
    assert repl.eval("repr(machine.Pin('X1'))") == "Pin(Pin.cpu.A0, mode=Pin.IN)"
    assert repl.eval("machine.Pin('X17').names()") == ["B3", "X17", "SW"]


def test_mpremote_drives_the_hardware(hw_board):
    board, repl = hw_board
    repl.close()
    board.i2c(2).attach(0x29, RegisterDevice(registers=b"\x42"))
    out = mpremote(board.port, "exec", "from machine import I2C; print(I2C(2).readfrom(0x29, 1))")
    assert out.stdout.strip() == "b'B'"


def test_board_file_wires_models_for_vpyb_run(start_board, tmp_path):
    toml = tmp_path / "board.toml"
    toml.write_text('[[jumper]]\npins = ["X1", "X2"]\n'
                    '[[i2c]]\nbus = 2\naddress = 0x50\nmodel = "Eeprom24LC256"\n'
                    '[adc]\nX20 = 1234\n[pins]\nY2 = 1\n')
    board = start_board("--ephemeral", "--board", str(toml))
    out = mpremote(board.port, "exec",
                   "import pyb, machine\n"
                   "print(machine.I2C(2).scan(), pyb.ADC('X20').read(), machine.Pin('Y2').value())\n"
                   "u = machine.UART(4, 115200, timeout=100); u.write(b'jump'); print(u.read(4))").stdout
    assert out.split() == ["[80]", "1234", "1", "b'jump'"]
