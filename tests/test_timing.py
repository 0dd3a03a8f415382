"""Timing on the board (time.ticks_*, pyb.millis/micros/elapsed_*), as a
32-bit port keeps it: ticks wrap at 2**30 and count from power-on."""
import re

TICKS_PERIOD = 1 << 30

# docs/reference/speed_python.rst, as written there.
TIMED_FUNCTION = """
import time

def timed_function(f, *args, **kwargs):
    myname = str(f).split(' ')[1]
    def new_func(*args, **kwargs):
        t = time.ticks_us()
        result = f(*args, **kwargs)
        delta = time.ticks_diff(time.ticks_us(), t)
        print('Function {} Time = {:6.3f}ms'.format(myname, delta/1000))
        return result
    return new_func

@timed_function
def test(ms):
    time.sleep_ms(ms)
    return ms * 2

print(test(20))
"""


def test_ticks_wrap_at_2_to_the_30_as_on_a_32_bit_port(board_factory):
    board = board_factory()
    assert board.eval("__import__('time').ticks_add(0, -1)") == TICKS_PERIOD - 1
    assert board.eval(f"__import__('time').ticks_diff(0, {TICKS_PERIOD - 1})") == 1
    assert board.eval(f"__import__('time').ticks_diff({TICKS_PERIOD - 1}, 0)") == -1
    assert board.eval("(lambda t: t.ticks_diff(t.ticks_add(t.ticks_ms(), 12345), t.ticks_ms()))"
                      "(__import__('time'))") in (12344, 12345)
    out = board.exec("import time\ntry:\n    time.ticks_add(0, 1 << 29)\nexcept OverflowError as e:\n"
                     "    print(e)")
    assert out.strip() == "ticks interval overflow"
    values = board.eval("(lambda t: [t.ticks_ms(), t.ticks_us(), t.ticks_cpu()])(__import__('time'))")
    assert all(0 <= v < TICKS_PERIOD for v in values), values


def test_clocks_run_at_their_rates(board_factory):
    board = board_factory()
    ms, us, cpu = map(int, board.exec(
        "import time\na, b, c = time.ticks_ms(), time.ticks_us(), time.ticks_cpu()\ntime.sleep_ms(100)\n"
        "print(time.ticks_diff(time.ticks_ms(), a), time.ticks_diff(time.ticks_us(), b), "
        "time.ticks_diff(time.ticks_cpu(), c))").split())
    assert 99 <= ms < 300, ms
    assert 99_000 <= us < 300_000 and abs(us / 1000 - ms) < 5, (us, ms)
    assert 168 * 99_000 <= cpu < 168 * 300_000, cpu  # the STM32F405's 168 MHz


def test_pyb_millis_count_from_power_on_and_elapsed_wraps_like_the_board(board_factory):
    board = board_factory()
    assert 0 <= board.eval("__import__('pyb').millis()") < 60_000  # a fresh board: just powered on
    took_ms, took_us = map(int, board.exec(
        "import pyb\nm, u = pyb.millis(), pyb.micros()\npyb.delay(50)\n"
        "print(pyb.elapsed_millis(m), pyb.elapsed_micros(u))").split())
    assert 50 <= took_ms < 250 and 50_000 <= took_us < 250_000
    # A start "in the future" (a wrapped counter) still gives a positive count.
    assert board.eval(f"__import__('pyb').elapsed_millis({TICKS_PERIOD - 10}) >= 10")


def test_the_docs_timed_function_decorator_works_as_written(board_factory):
    board = board_factory()
    out = board.exec(TIMED_FUNCTION)
    m = re.fullmatch(r"Function test Time = +(\d+\.\d{3})ms\r\n40\r\n", out)
    assert m, out
    assert 20.0 <= float(m.group(1)) < 100.0
