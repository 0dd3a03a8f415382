"""The PYBv1.1's peripherals as ports/stm32 drives them, asserted on a real
board through its pty (issue 16): ADC sampling, the accelerometer's power
at a soft reset, the RTC's registers, timer callbacks that allocate
nothing, pyb's power and USB functions, bus timing at the baud rate, DAC,
Servo and CAN.  The host side is read through VirtualBoard.hardware."""
from __future__ import annotations

import re
import threading
import time
from pathlib import Path

import pytest

from vpyb.device import regfile
from vpyb.protocol.raw_repl import RawRepl, RemoteError

SOFT_REBOOT = b"soft reboot\r\n"
RAW_PROMPT = b"raw REPL; CTRL-B to exit\r\n>"


def soft_reset(repl: RawRepl) -> None:
    repl.serial.write(b"\x04")
    repl.read_until(SOFT_REBOOT)
    repl.read_until(RAW_PROMPT)


def timed(repl: RawRepl, setup: str, code: str, runs: int = 1) -> int:
    """Microseconds the board's clock measures for `code` (one line), the
    least of `runs`: a loaded host only ever makes a wait longer."""
    repl.exec(setup)
    repl.exec(f"import time\ndt = []\nfor _ in range({runs}):\n    t0 = time.ticks_us()\n"
              f"    {code}\n    dt.append(time.ticks_diff(time.ticks_us(), t0))")
    return repl.eval("min(dt)")


def test_register_file_private_fields_match_firmware():
    fw = (Path(regfile.__file__).parent / "firmware" / "fw_regs.py").read_text().lower()
    for name in ("P_RTC", "P_RTC_WEEKDAY", "P_STANDBY"):
        assert f"_{name.lower()} = const({getattr(regfile, name):#x})" in fw, name


# --- ADC ---------------------------------------------------------------------
def test_adc_read_timed_keeps_the_top_8_bits_in_bytes_and_paces_on_the_timer(hw):
    board, repl = hw
    board.set_adc("X1", 2000)
    repl.exec("import pyb, array\nadc = pyb.ADC('X1')\ntim = pyb.Timer(5, freq=500)\n"
              "b = bytearray(50)\nh = array.array('h', [0] * 20)")
    took = timed(repl, "", "adc.read_timed(b, tim)")
    assert repl.eval("set(b)") == {2000 >> 4}
    assert 95_000 <= took <= 130_000  # 50 samples at 500 Hz
    assert repl.eval("adc.read_timed(h, tim)") == 40  # bytes, as adc.c returns
    assert repl.eval("set(h)") == {2000}
    board.set_adc(16, 1200)
    repl.exec("t = bytearray(10); v = bytearray(10)\n"
              "kept = pyb.ADC.read_timed_multi((pyb.ADC(16), adc), (t, v), tim)")
    assert repl.eval("(set(t), set(v), kept in (True, False))") == ({1200 >> 4}, {2000 >> 4}, True)


def test_adcall_sets_the_masked_pins_analog_and_reads_the_internal_channels(hw):
    board, repl = hw
    repl.exec("import pyb\nps = [pyb.Pin(p, pyb.Pin.IN) for p in ('X1', 'X2', 'X3')]\n"
              "a = pyb.ADCAll(12, 0x70003)")
    assert repl.eval("[p.mode() for p in ps]") == [3, 3, 0]
    assert repl.eval("repr(a)") == "<ADCAll>"
    board.set_adc("X2", 1234)
    assert repl.eval("(a.read_channel(1), pyb.ADCAll(8).read_channel(1))") == (1234, 1234 >> 4)
    temp, vbat, vref_in, vref = repl.eval("(a.read_core_temp(), a.read_core_vbat(), "
                                          "a.read_core_vref(), a.read_vref())")
    assert 20 < temp < 30 and 3.2 < vbat < 3.4 and 1.18 < vref_in < 1.24 and 3.25 < vref < 3.35
    with pytest.raises(RemoteError, match="ValueError: not a valid ADC Channel: 19"):
        repl.exec("a.read_channel(19)")


# --- the accelerometer's power -------------------------------------------------
def test_a_soft_reset_powers_the_accelerometer_down(hw):
    board, repl = hw
    assert repl.eval("__import__('machine').I2C(1).scan()") == []
    repl.exec("import pyb\npyb.Accel()")
    assert repl.eval("__import__('machine').I2C(1).scan()") == [76]
    soft_reset(repl)
    assert repl.eval("__import__('machine').I2C(1).scan()") == []
    assert board.pin("MMA_AVDD").value == 0


# --- RTC ---------------------------------------------------------------------
def test_rtc_init_calendar_weekday_and_the_second_restarting_when_set(hw):
    _, repl = hw
    repl.exec("import pyb, time\nr = pyb.RTC()\nr.init()")
    assert repl.eval("r.datetime()[:7]")[:4] == (2015, 1, 1, 4)
    repl.exec("r.datetime((2016, 12, 31, 1, 23, 59, 59, 0))")  # a Saturday, set as weekday 1
    assert repl.eval("r.datetime()[:7]") == (2016, 12, 31, 1, 23, 59, 59)
    repl.exec("time.sleep_ms(1020)")
    assert repl.eval("r.datetime()[:7]") == (2017, 1, 1, 2, 0, 0, 0)  # the weekday counts on
    assert repl.eval("time.localtime()[:6]") == (2017, 1, 1, 0, 0, 0)


def test_rtc_calibration_and_wakeup_registers(hw):
    _, repl = hw
    repl.exec("import pyb, stm\nr = pyb.RTC()")
    assert repl.eval("[(r.calibration(c), r.calibration())[1] for c in (512, 1, 0, -511)]") == \
        [512, 1, 0, -511]
    with pytest.raises(RemoteError, match="ValueError: calibration value out of range"):
        repl.exec("r.calibration(513)")
    assert repl.eval("stm.mem32[stm.RTC + stm.RTC_PRER] >> 16") == 0x7F
    regs = "(stm.mem32[stm.RTC + stm.RTC_CR] & 7, stm.mem32[stm.RTC + stm.RTC_WUTR] & 0xFFFF)"
    assert repl.eval(f"[r.wakeup(ms) or {regs} for ms in (1, 4001, 32001, 0x10001 * 1000)]") == \
        [(3, 15), (2, 32775), (4, 31), (6, 0)]
    with pytest.raises(RemoteError, match="ValueError: wakeup value too large"):
        repl.exec("r.wakeup(0x20001 * 1000)")
    repl.exec("n = [0]\ndef cb(line):\n    n[0] += line\nr.wakeup(100, cb)\n"
              "__import__('time').sleep_ms(450)\nr.wakeup(None)")
    assert 3 * 22 <= repl.eval("n[0]") <= 5 * 22  # EXTI line 22, every 100 ms


# --- timer callbacks allocate nothing -------------------------------------------
def test_a_timer_callback_can_stop_its_timer_and_use_leds_and_the_counter(hw):
    board, repl = hw
    out = repl.exec(
        "import pyb, time\n"
        "def cb(t):\n"
        "    pyb.LED(1).toggle()\n"
        "    t.callback(None)\n"
        "def cb2(t):\n"
        "    pyb.LED(2).on()\n"
        "    t.deinit()\n"
        "pyb.Timer(1, freq=100, callback=cb)\n"
        "pyb.Timer(2, freq=100, callback=cb2)\n"
        "t4 = pyb.Timer(4, freq=1000)\n"
        "t4.callback(lambda t: t.counter())\n"
        "time.sleep_ms(60)\n"
        "t4.deinit()\n")
    assert out == b""  # no "uncaught exception ... MemoryError"
    assert board.led(1).on and board.led(2).on
    t1, t2 = repl.eval("[repr(pyb.Timer(1)), repr(pyb.Timer(2))]")
    assert t1.startswith("Timer(1, freq=100,") and t2 == "Timer(2)"  # running on / stopped


def test_pyb_led_is_called_without_allocating(hw):
    _, repl = hw
    assert repl.eval("[repr(__import__('pyb').LED), repr(type(__import__('pyb').LED(3)))]") == \
        ["<class 'LED'>", "<class 'LED'>"]
    repl.exec("import micropython, pyb\ndef f():\n    micropython.heap_lock()\n    try:\n"
              "        return pyb.LED(4)\n    finally:\n        micropython.heap_unlock()\nx = f()")
    assert repl.eval("repr(x)") == "LED(4)"


# --- pyb: info, USB, power ------------------------------------------------------
def test_pyb_info_prints_the_boards_format(hw):
    _, repl = hw
    out = repl.exec("import pyb\npyb.info()").decode()
    lines = out.split("\r\n")
    assert re.fullmatch(r"ID=[0-9a-f]{8}:[0-9a-f]{8}:[0-9a-f]{8}", lines[0])
    assert lines[1:7] == ["DEVID=0x0413", "REVID=0x1007", "S=168000000", "H=168000000",
                          "P1=42000000", "P2=84000000"]
    assert "_heap_start=20002358" in lines and "_estack=2001fff8" in lines
    gc_at = lines.index("GC:")
    assert lines[gc_at + 1] == "  103168 total"
    assert re.fullmatch(r"  \d+ : \d+", lines[gc_at + 2]) and re.fullmatch(r"  1=\d+ 2=\d+ m=\d+",
                                                                        lines[gc_at + 3])
    assert lines[gc_at + 4] == "LFS free: 92160 bytes"
    assert "GC memory layout; from" in repl.exec("pyb.info(1)").decode()


def test_pyb_usb_mode_hid_and_fault_debug(hw):
    _, repl = hw
    repl.exec("import pyb")
    assert repl.eval("(pyb.usb_mode(), pyb.usb_mode('VCP+HID'), pyb.usb_mode())") == \
        ("VCP+MSC", None, "VCP+MSC")
    with pytest.raises(RemoteError, match="ValueError: bad USB mode"):
        repl.exec("pyb.usb_mode('VCP+XYZ')")
    assert repl.eval("(pyb.hid((0, 1, 1, 0)), pyb.hid_mouse[:4], len(pyb.hid_keyboard[4]))") == \
        (0, (1, 2, 4, 8), 63)
    assert repl.eval("(pyb.fault_debug(True), pyb.mount is __import__('os').mount)") == (None, True)


def test_lightsleep_ends_at_the_wakeup_timer_or_a_pins_irq(hw):
    board, repl = hw
    took = timed(repl, "import machine", "machine.lightsleep(150)")
    assert 140_000 <= took <= 220_000
    repl.exec("p = machine.Pin('X1', machine.Pin.IN)\np.irq(lambda p: None, machine.Pin.IRQ_RISING)\n"
              "machine.RTC().wakeup(None)")
    board.pin("X1").drive(0)
    threading.Timer(0.2, lambda: board.pin("X1").drive(1)).start()
    took = timed(repl, "", "machine.lightsleep()")
    assert 150_000 <= took <= 600_000


def test_deepsleep_boots_again_with_deepsleep_reset(hw):
    _, repl = hw
    t = time.monotonic()
    with pytest.raises(RemoteError):
        repl.exec("import machine\nmachine.deepsleep(300)")
    assert time.monotonic() - t >= 0.3
    repl.enter()
    assert repl.eval("__import__('machine').reset_cause()") == 4  # DEEPSLEEP_RESET
    soft_reset(repl)
    assert repl.eval("__import__('machine').reset_cause()") == 0


# --- bus timing ------------------------------------------------------------------
def test_spi_transfers_take_the_bus_time_at_the_baud_rate(hw):
    _, repl = hw
    took = timed(repl, "from machine import SPI\ns = SPI(1, baudrate=656250)\nb = bytes(3200)",
                 "s.write(b)", runs=3)
    assert repl.eval("repr(s)").startswith("SPI(1, baudrate=656250,")
    assert 38_500 <= took <= 42_000, took  # 3,200 x 8 bits at 656,250 Hz: 39.0 ms
    took = timed(repl, "s.init(baudrate=5250000)\nr = bytearray(3200)", "s.write_readinto(b, r)", runs=3)
    assert 4_850 <= took <= 5_500, took  # 84 MHz / 16: 5.25 MHz, 4.88 ms


def test_uart_write_and_flush_end_at_the_line_time(hw):
    _, repl = hw
    repl.exec("from machine import UART\nimport time\ntext = 'Hello World from MicroPython'")
    for baud, line_us in ((115200, 28 * 10 * 1_000_000 // 115200), (9600, 28 * 10 * 1_000_000 // 9600)):
        took = timed(repl, f"u = UART('XA', {baud})", "u.write(text); u.flush()", runs=3)
        assert line_us <= took <= line_us + 150, (baud, took, line_us)


def test_i2s_writes_take_the_frames_time(hw):
    _, repl = hw
    repl.exec("from machine import I2S, Pin\nimport time\n"
              "i = I2S(2, sck=Pin('Y6'), ws=Pin('Y5'), sd=Pin('Y8'), mode=I2S.TX, bits=16,"
              " format=I2S.STEREO, rate=8000, ibuf=2000)\n"
              "buf = bytes(3200)\ndt = []\n"  # 100 ms of 16-bit stereo frames at 8 kHz
              "for _ in range(2):\n    time.sleep_ms(150)\n    t0 = time.ticks_us()\n"
              "    i.write(buf); i.write(buf); i.write(buf)\n"
              "    dt.append(time.ticks_diff(time.ticks_us(), t0))")
    # The last write returns once what is left fits the ring and half the
    # DMA buffer: 300 ms - (2000 + 128) B / 32000 B/s.
    assert 233_000 <= repl.eval("min(dt)") <= 236_000
    with pytest.raises(RemoteError, match="ValueError: invalid SCK pin"):
        repl.exec("I2S(2, sck=Pin('X1'), ws=Pin('Y5'), sd=Pin('Y8'), mode=I2S.RX, bits=16,"
                  " format=I2S.MONO, rate=8000, ibuf=100)")


# --- DAC, Servo ---------------------------------------------------------------
def test_dac_output_is_seen_by_the_host(hw):
    board, repl = hw
    repl.exec("import pyb\nd = pyb.DAC(1)\nd.write(128)")
    assert repl.eval("repr(d)") == "DAC(1, bits=8)"
    assert board.hardware.dac(1).value == 128 << 4
    repl.exec("d2 = pyb.DAC('X6', bits=12)\nd2.write(4095)\nd.triangle(100)")
    assert (board.hardware.dac(2).value, board.hardware.dac(1).wave) == (4095, "triangle")
    repl.exec("d.write_timed(bytes((10, 20, 30)), 10)")  # a sample every 100 ms
    seen = []
    for _ in range(40):
        seen.append(board.hardware.dac(1).value)
        time.sleep(0.01)
    assert [v for i, v in enumerate(seen) if i == 0 or v != seen[i - 1]] == [160, 320, 480]
    with pytest.raises(RemoteError, match=r"ValueError: Pin\(A0\) doesn't have DAC capabilities"):
        repl.exec("pyb.DAC('X1')")


def test_servo_pulse_width_on_tim5_and_timed_moves(hw):
    board, repl = hw
    assert board.hardware.servo_pulse_us(1) is None
    repl.exec("import pyb\ns = pyb.Servo(1)")
    assert repl.eval("repr(s)") == "<Servo 1 at 1500us>"
    assert board.hardware.servo_pulse_us(1) == pytest.approx(1500)
    repl.exec("s.pulse_width(1800)")
    assert board.hardware.servo_pulse_us(1) == pytest.approx(1800)
    repl.exec("s.angle(-60, 400)")  # 20 steps of 20 ms towards 1500 - 640 us
    time.sleep(0.2)
    halfway = board.hardware.servo_pulse_us(1)
    time.sleep(0.35)
    assert 900 < halfway < 1750 and board.hardware.servo_pulse_us(1) == pytest.approx(860)
    assert repl.eval("(s.angle(), s.pulse_width())") == (-59, 860)
    repl.exec("pyb.servo(1, 300)")  # the legacy function: the register, clamped to 50..250
    assert board.hardware.servo_pulse_us(1) == pytest.approx(2500)


# --- CAN -------------------------------------------------------------------------
def test_can_loopback_filters_callbacks_and_a_heap_locked_recv(hw):
    _, repl = hw
    repl.exec("import pyb, micropython, time\nfrom pyb import CAN\n"
              "c = CAN(1, CAN.LOOPBACK)\nc.setfilter(0, CAN.LIST16, 1, (10, 11, 12, 13))\n"
              "c.setfilter(1, CAN.MASK32, 0, (0x100, 0x100), extframe=True)\n"
              "got = []\nc.rxcallback(1, lambda bus, reason: got.append(reason))")
    assert repl.eval("repr(c)") == "CAN(1, CAN.LOOPBACK, auto_restart=False)"
    repl.exec("c.send('hi', 12, timeout=100)\nc.send(b'x', 0x1100, extframe=True, timeout=100)\n"
              "c.send('no', 14, timeout=100)")
    assert repl.eval("(c.any(0), c.any(1), got)") == (True, True, [0])
    assert repl.eval("c.recv(1)") == [12, False, False, 2, b"hi"]
    assert repl.eval("c.recv(0)") == [0x1100, True, False, 0, b"x"]
    repl.exec("c.rxcallback(1, None)\nbuf = bytearray(8)\nl = [0, 0, 0, 0, memoryview(buf)]\n"
              "def f():\n    c.send('abc', 10)\n    return c.recv(1, l)\n"
              "micropython.heap_lock()\nr = f()\nmicropython.heap_unlock()")
    assert repl.eval("(r is l, l[:4], bytes(l[4]), bytes(buf))") == \
        (True, [10, False, False, 0], b"abc", b"abc\x00\x00\x00\x00\x00")
    with pytest.raises(RemoteError, match="OSError: 16"):
        repl.exec("c.init(CAN.SILENT)\nfor i in range(4): c.send('', i)")
    with pytest.raises(RemoteError, match=r"OSError: \[Errno 110\] ETIMEDOUT"):
        repl.exec("c.recv(0, timeout=30)")


def test_can_normal_mode_without_a_bus_times_out_and_goes_error_passive(hw):
    _, repl = hw
    repl.exec("from pyb import CAN\nc = CAN(2, CAN.NORMAL, baudrate=125000)")
    assert repl.eval("(c.state(), c.info())") == (1, [0, 0, 0, 0, 0, 0, 0, 0])
    with pytest.raises(RemoteError, match=r"OSError: \[Errno 110\] ETIMEDOUT"):
        repl.exec("c.send('x', 1, timeout=50)")
    assert repl.eval("(c.state() == CAN.ERROR_PASSIVE, c.info()[:6])") == (True, [128, 0, 1, 1, 0, 0])
    with pytest.raises(RemoteError, match=r"ValueError: CAN\(3\) doesn't exist"):
        repl.exec("CAN(3)")
