"""The friendly REPL as a person meets it: keys typed into the pty with
pexpect, exact bytes back (protocol-facts.md section 1)."""
import os
import re
import termios
import tty

import pexpect
import pexpect.fdpexpect
import pytest

LEFT, RIGHT, UP, DOWN = b"\x1b[D", b"\x1b[C", b"\x1b[A", b"\x1b[B"


class Person:
    def __init__(self, port: str) -> None:
        self.fd = os.open(port, os.O_RDWR | os.O_NOCTTY)
        tty.setraw(self.fd, termios.TCSANOW)
        self.p = pexpect.fdpexpect.fdspawn(self.fd, timeout=5)
        # To a clean prompt, past whatever the board printed before.
        self.type(b"\r\x03print('READY' + '!')\r")
        self.p.expect_exact(b"READY!\r\n>>> ")

    def type(self, keys: bytes) -> None:
        os.write(self.fd, keys)

    def sees(self, keys: bytes, until: bytes = b">>> ") -> bytes:
        self.type(keys)
        self.p.expect_exact(until)
        return self.p.before + until

    def close(self) -> None:
        os.close(self.fd)


@pytest.fixture
def person(board):
    p = Person(board.port)
    yield p
    p.close()


def test_backspace_and_insert_in_the_middle(person):
    assert person.sees(b"1+3\x7f", b"\b\x1b[K") == b"1+3\b\x1b[K"
    assert person.sees(b"2\r") == b"2\r\n3\r\n>>> "
    # "13" then left, insert "+": the tail is rewritten and the cursor moved back.
    out = person.sees(b"13" + LEFT + b"+", b"+3\b")
    assert out == b"13\b+3\b"
    assert person.sees(b"\r").endswith(b"4\r\n>>> ")


def test_home_end_delete_and_emacs_keys(person):
    person.sees(b"abc", b"abc")
    assert person.sees(b"\x1b[H", b"\b\b\b") == b"\b\b\b"
    assert person.sees(b"\x1b[3~", b"\b\b") == b"\x1b[Kbc\b\b"
    assert person.sees(b"\x05", b"bc") == b"bc"  # Ctrl-E: end of line
    assert person.sees(b"\x15", b"\x1b[K") == b"\b\b\x1b[K"  # Ctrl-U: kill to start
    assert person.sees(b"\x03") == b"\r\n>>> "


def test_history_up_and_down(person):
    person.sees(b"x = 41\r")
    person.sees(b"x + 1\r")
    assert person.sees(UP, b"x + 1") == b"x + 1"
    assert person.sees(UP, b"x = 41") == b"\x1b[5Dx = 41"  # > 4 columns: ESC [ n D
    assert person.sees(DOWN, b"x + 1") == b"\x1b[6D\x1b[Kx + 1"
    assert person.sees(b"\r").endswith(b"42\r\n>>> ")


def test_auto_indent_and_dedent(person):
    assert person.sees(b"if 1:\r", b"...     ") == b"if 1:\r\n...     "
    assert person.sees(b"print(1)\r", b"...     ") == b"print(1)\r\n...     "
    # Three Enters end the block (protocol-facts.md 1.5).
    assert person.sees(b"\r", b"...     ") == b"\r\n...     "
    assert person.sees(b"\r", b"... ") == b"\r\n... "
    assert person.sees(b"\r", b">>> ") == b"\r\n1\r\n>>> "
    # A space right after the auto-indent takes back 3 of the 4 spaces.
    person.sees(b"for i in range(2):\r", b"...     ")
    assert person.sees(b" ", b"\b\b\b") == b"\b\b\b"
    person.sees(b"print(i)\r\r", b">>> ")


def test_tab_completion(person):
    person.sees(b"class C:\r", b"...     ")
    person.sees(b"public_attr = 1\r", b"...     ")
    person.sees(b"public_method = 2\r", b"...     ")
    person.sees(b"public_property = 3\r\r\r\r")
    person.sees(b"obj = C()\r")
    # several matches with a longer common prefix: inserted
    assert person.sees(b"obj.pu\t", b"blic_") == b"obj.public_"
    # then no longer prefix: listed, prompt and line redrawn
    out = person.sees(b"\t", b">>> obj.public_")
    assert out == b"\r\npublic_attr     public_method   public_property\r\n>>> obj.public_"
    assert person.sees(b"a\t", b"ttr") == b"attr"
    assert person.sees(b"\r").endswith(b"1\r\n>>> ")
    assert person.sees(b"imp\t", b"ort ") == b"import "
    assert person.sees(b"mach\t", b"ine") == b"machine"
    person.sees(b"\r")


def test_non_ascii_is_ignored_and_input_works(person):
    assert person.sees("'é'".encode() + b"\r").startswith(b"''\r\n''")
    person.type(b"s = input('name? ')\r")
    person.p.expect_exact(b"name? ")
    person.sees(b"Ada\r")
    assert person.sees(b"s\r").endswith(b"'Ada'\r\n>>> ")


def test_ctrl_b_prints_the_banner(person):
    out = person.sees(b"\x02")
    assert re.fullmatch(rb"\r\nMicroPython v\S+ on \S+; PYBv1\.1 with STM32F405RG\r\n"
                        rb"Type \"help\(\)\" for more information\.\r\n>>> ", out)
