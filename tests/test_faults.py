"""Faults a test can inject through the plugin's boards, and what must hold
after each: power cuts mid-write, a full flash, noisy UART lines, crashes."""
from __future__ import annotations

import socket
import time

import pytest

from vpyb.device.models import LinePeer, NoisyLine, UARTPeer
from vpyb.protocol.raw_repl import RemoteError

WRITER = """
import os
n = 0
while True:
    with open('/flash/big.bin', 'wb') as f:
        for i in range(40):
            f.write(bytes([n & 255]) * 512)
    n += 1
"""


@pytest.mark.parametrize("fs", ["fat", "littlefs"])
def test_power_cut_mid_write_keeps_closed_files(board_factory, fs):
    board = board_factory(fs=fs)
    files = {f"/flash/f{i}.txt": f"file {i} ".encode() * (i * 40 + 1) for i in range(6)}
    for name, data in files.items():
        board.fs.put(data, name)
    for cut in range(3):
        board.repl.serial.write(WRITER.encode() + b"\x04")  # raw REPL: runs without waiting
        time.sleep(0.15 + 0.1 * cut)
        board.power_cut()
        assert board.eval("__import__('machine').reset_cause()") == 1  # PWRON_RESET
        for name, data in files.items():
            assert board.fs.get(name) == data, (fs, cut, name)
        big = board.fs.get("/flash/big.bin")  # the file being written at the cut
        if fs == "littlefs" and cut > 0:  # its last closed version, never a torn one
            assert len(big) == 40 * 512 and big == big[:1] * len(big)
        assert board.eval("'boot.py' in __import__('os').listdir('/flash')")


@pytest.mark.parametrize("fs", ["fat", "littlefs"])
def test_flash_full_is_errno_28_and_the_filesystem_lives_on(board_factory, fs):
    board = board_factory(fs=fs)
    with pytest.raises(RemoteError, match=r"^OSError: 28$"):
        board.exec("b = bytes(512)\nwith open('fill.bin', 'wb') as f:\n"
                   "    for i in range(1000):\n        f.write(b)")
    board.fs.rm("fill.bin")
    board.fs.put(b"after", "/flash/after.txt")
    assert board.fs.get("/flash/after.txt") == b"after"


class Recorder(UARTPeer):
    def __init__(self) -> None:
        self.got = bytearray()

    def receive(self, data: bytes) -> None:
        self.got += data


def test_noisy_uart_drops_and_corrupts_bytes_reproducibly(board_factory):
    board = board_factory()
    board.exec("from pyb import UART\nu = UART(6, 115200, timeout=200, rxbuf=2048)")
    sent = bytes(range(256)) * 4
    runs = []
    for _ in range(2):
        rec = Recorder()
        line = NoisyLine(rec, drop=0.05, corrupt=0.05, seed=3)
        board.uart(6).peer = line
        board.exec(f"u.write({sent!r})")
        assert len(rec.got) == len(sent) - line.dropped
        assert line.dropped > 10 and line.corrupted > 10
        assert sum(a != b for a, b in zip(rec.got, sent)) > 0
        runs.append(bytes(rec.got))
    assert runs[0] == runs[1]  # same seed, same damage
    # Towards the board too: what the peer sends arrives with bytes missing.
    talker = LinePeer()
    board.uart(6).peer = NoisyLine(talker, drop=0.5, seed=1)
    board.exec("u.read()")
    talker.send(b"x" * 200)
    got = board.eval("len(u.read() or b'')")
    assert 60 < got < 140


def test_user_code_crash_hard_resets_behind_an_open_tcp_client(board_factory):
    board = board_factory()
    b = board.virtual
    from vpyb.device.endpoint_net import NetEndpoint

    net = NetEndpoint(board.port, 0)
    try:
        host, port = net.url.split("://")[1].split(":")
        with socket.create_connection((host, int(port)), timeout=5) as s:
            s.sendall(b"\r\x03\x02import machine\r")
            s.sendall(b"machine.mem32[0] = 1\r")  # outside the register file: a fault
            seen = b""
            deadline = time.monotonic() + 10
            while b"MicroPython v" not in seen and time.monotonic() < deadline:
                seen += s.recv(4096)
            assert b"MicroPython v" in seen
            time.sleep(0.2)
            s.sendall(b"6*7\r")
            seen = b""
            while b"42\r\n>>> " not in seen and time.monotonic() < deadline:
                seen += s.recv(4096)
            assert b"42\r\n>>> " in seen
    finally:
        net.close()
    assert b.wait_prompt(1)
