"""Faults: a crashing core, a client that goes away, garbage on the line."""
import random
import time

from conftest import Terminal, mpremote

RAW = b"raw REPL; CTRL-B to exit\r\n>"


def test_core_crash_is_a_hard_reset_behind_the_same_port(board):
    t = Terminal(board.port)
    t.write(b"\r\x03")
    t.read_until(b">>> ")
    # A bad viper pointer: the core dies with SIGSEGV, as a board would fault.
    t.write(b"@micropython.viper\r")
    t.write(b"def boom():\r")
    t.write(b"ptr32(8)[0] = 1\r\r\r\r")
    t.read_until(b">>> ")
    t.write(b"boom()\r")
    out = t.read_until(b'Type "help()" for more information.\r\n>>> ', timeout=10)
    assert b"MicroPython v" in out
    assert t.exchange(b"1+2\r", b">>> ").endswith(b"3\r\n>>> ")
    t.close()


def test_machine_reset_keeps_flash_and_port(board):
    mpremote(board.port, "exec", "open('k.txt', 'w').write('x')")
    t = Terminal(board.port)
    t.write(b"\r\x03")
    t.read_until(b">>> ")
    t.write(b"import machine; machine.reset()\r")
    t.read_until(b'for more information.\r\n>>> ', timeout=10)
    assert b"'k.txt'" in t.exchange(b"import os; os.listdir()\r", b">>> ")
    t.close()


def test_reconnect_finds_a_prompt(board):
    t = Terminal(board.port)
    t.write(b"\r\x01")
    t.read_until(RAW)
    t.write(b"while True:\n  pass\n")  # a client that vanishes mid-command
    t.close()
    t = Terminal(board.port)
    t.write(b"\r\x03\r\x02")
    t.read_until(b">>> ")
    assert t.exchange(b"40+2\r", b">>> ").endswith(b"42\r\n>>> ")
    t.close()


def test_garbage_then_ctrl_c_ctrl_b_recovers(board):
    rng = random.Random(7)
    t = Terminal(board.port)
    for _ in range(3):
        t.write(bytes(rng.randrange(256) for _ in range(2000)))
        t.read_for(0.2)
        t.write(b"\x03\x03\x02\x03")
        t.read_for(0.3)
    t.write(b"\r\x03\x02")
    t.read_until(b">>> ", timeout=2)
    t.read_for(0.1)
    assert t.exchange(b"6*7\r", b">>> ").endswith(b"42\r\n>>> ")
    t.close()
    assert mpremote(board.port, "exec", "print('ok')").stdout == "ok\n"


def test_user_output_flood_with_no_reader_does_not_wedge(board):
    t = Terminal(board.port)
    t.write(b"\r\x03")
    t.read_until(b">>> ")
    t.write(b"while True: print('x' * 60)\r\r")
    t.read_until(b"xxx\r\n")
    t.close()  # the board prints on with nobody reading
    time.sleep(1.5)
    assert mpremote(board.port, "exec", "print('alive')").stdout == "alive\n"
