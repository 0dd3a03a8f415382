"""TCP and RFC 2217 endpoints: host tools connect unchanged; one client at a
time across all endpoints; DTR can reset the board when asked to."""
from __future__ import annotations

import re
import socket
import time

import pytest
import serial

from conftest import BoardProcess, mpremote
from vpyb.device.endpoint_net import BUSY


def urls(board: BoardProcess) -> dict[str, str]:
    found = {}
    while len(found) < 2:
        line = board.proc.stdout.readline().decode()
        m = re.match(r"vpyb: also on ((socket|rfc2217)://\S+)", line)
        assert m, line
        found[m.group(2)] = m.group(1)
    return found


def test_mpremote_and_pyserial_over_tcp_and_rfc2217(start_board):
    board = start_board("--ephemeral", "--tcp", "0", "--rfc2217", "0")
    ends = urls(board)
    assert ends["socket"].startswith("socket://127.0.0.1:")  # loopback by default
    mpremote(ends["socket"], "fs", "cp", "README.md", ":r.md")
    out = mpremote(ends["rfc2217"], "exec", "print(len(open('r.md').read()) > 100)").stdout
    assert out == "True\n"
    with serial.serial_for_url(ends["rfc2217"], timeout=2) as s:
        s.write(b"\r\x03\x02")
        s.write(b"print(0xff)\r")
        seen = b""
        deadline = time.monotonic() + 5
        while b"255\r\n>>> " not in seen and time.monotonic() < deadline:
            seen += s.read(s.in_waiting or 1)
        assert b"255\r\n>>> " in seen


def test_a_second_client_is_refused_on_every_endpoint(start_board):
    board = start_board("--ephemeral", "--tcp", "0", "--rfc2217", "0")
    ends = urls(board)
    with serial.serial_for_url(ends["socket"], timeout=2):
        time.sleep(0.1)
        host, port = ends["socket"].split("://")[1].split(":")
        with pytest.raises(ConnectionRefusedError):  # its own endpoint stops listening
            socket.create_connection((host, int(port)), timeout=2)
        host, port = ends["rfc2217"].split("://")[1].split(":")
        with socket.create_connection((host, int(port)), timeout=2) as other:
            assert other.recv(100) == BUSY  # another endpoint says why
        # ...and the pty, locked as pyserial and mpremote lock it
        r = mpremote(board.port, "exec", "print(1)", check=False)
        assert r.returncode != 0 and "in use" in r.stderr + r.stdout
    assert mpremote(board.port, "exec", "print(2)").stdout == "2\n"  # released on disconnect


def read_until(port: serial.SerialBase, marker: bytes) -> bytes:
    seen = b""
    deadline = time.monotonic() + 5
    while marker not in seen and time.monotonic() < deadline:
        seen += port.read(port.in_waiting or 1)
    return seen


def toggle_dtr(url: str) -> bytes:
    """Opens the port with DTR low, raises it, returns what the board says."""
    port = serial.serial_for_url(url, timeout=0.2, do_not_open=True)
    port.dtr = False
    port.open()
    try:
        port.write(b"\r\x03")
        read_until(port, b">>> ")
        port.dtr = True
        return read_until(port, b"MicroPython v") + port.read(200)
    finally:
        port.close()


def test_dtr_resets_the_board_only_when_enabled(start_board):
    plain = start_board("--ephemeral", "--rfc2217", "0")
    url = plain.proc.stdout.readline().decode().split()[-1]
    mpremote(plain.port, "exec", "import pyb; pyb.LED(1).on()")
    assert b"MicroPython v" not in toggle_dtr(url)
    assert mpremote(plain.port, "exec", "print(pyb.LED(1).intensity())").stdout == "255\n"

    resetting = start_board("--ephemeral", "--rfc2217", "0", "--reset-on", "dtr")
    url = resetting.proc.stdout.readline().decode().split()[-1]
    mpremote(resetting.port, "exec", "import pyb; pyb.LED(1).on()")
    assert b"MicroPython v" in toggle_dtr(url)
    out = mpremote(resetting.port, "resume", "exec", "import machine, pyb; "
                   "print(machine.reset_cause(), pyb.LED(1).intensity())").stdout
    assert out == "2 0\n"  # HARD_RESET (mpremote's resume: no soft reset), LEDs off


def test_listening_beyond_loopback_warns(start_board):
    board = start_board("--ephemeral", "--tcp", "0", "--listen", "0.0.0.0")
    assert board.proc.stdout.readline().startswith(b"vpyb: also on socket://0.0.0.0:")
    warning = board.proc.stderr.readline().decode()
    assert "WARNING: listening on 0.0.0.0" in warning and "can run code on this host" in warning
