"""Reliability, seeded and bounded in time: garbage in every REPL mode,
clients that vanish mid-transfer, and 16 boards under load at once."""
from __future__ import annotations

import random
import signal
import threading
import time

import pytest

from conftest import Terminal, mpremote
from vpyb.protocol.raw_repl import RawRepl

MODES = {  # the keys that put a friendly-REPL board into each mode
    "friendly": b"",
    "paste": b"\x05",
    "raw": b"\x01",
    "raw-paste": b"\x01\x05A\x01",
}


def drain(t: Terminal, limit: float = 5.0) -> None:
    deadline = time.monotonic() + limit
    while t.read_for(0.1) and time.monotonic() < deadline:
        pass


def host_log(board) -> str:
    """Stops a `vpyb run` board and returns what its host process printed."""
    board.proc.send_signal(signal.SIGTERM)
    err = board.proc.communicate(timeout=10)[1].decode()
    assert board.proc.returncode == 0, err
    return err


@pytest.mark.parametrize("mode", MODES)
def test_random_bytes_in_every_mode_then_ctrl_c_ctrl_b_gives_a_prompt(start_board, mode):
    board = start_board("--ephemeral")
    t = Terminal(board.port)
    for seed in range(4):
        rng = random.Random(f"{mode}-{seed}")
        t.write(b"\r\x03\x03\x02")
        drain(t)
        t.write(MODES[mode])
        for _ in range(4):
            t.write(rng.randbytes(1024))
            t.read_for(0.02)
        drain(t)
        start = time.monotonic()
        t.write(b"\x03\x03\x02")
        t.read_until(b">>> ", timeout=1.0)  # the bound the board must meet
        assert time.monotonic() - start < 1.0
        drain(t, 1.0)
        assert t.exchange(b"6*7\r", b">>> ").endswith(b"42\r\n>>> "), (mode, seed)
    t.close()
    log = host_log(board)
    assert "Traceback" not in log and "wire stopped" not in log, log


def test_client_vanishing_mid_raw_paste_then_next_client_works(start_board):
    board = start_board("--ephemeral", "--tcp", "0")
    url = board.proc.stdout.readline().decode().split()[-1]
    for port in (board.port, url):
        repl = RawRepl(port)
        repl.enter()
        repl.serial.write(b"\x05A\x01")
        assert repl.reader.read_exactly(2) == b"R\x01"
        repl.serial.write(b"x = [\n" + b"1,\n" * 30)  # half a command, then gone
        repl.serial.close()
        assert mpremote(port, "exec", "print('next')").stdout == "next\n"
    t = Terminal(board.port)
    t.write(b"\r\x03\x03\x02")
    t.read_until(b">>> ")
    drain(t, 1.0)
    assert t.exchange(b"1+1\r", b">>> ") == b"1+1\r\n2\r\n>>> "
    t.close()


def test_client_vanishing_mid_file_copy_then_next_client_works(start_board, tmp_path):
    board = start_board("--ephemeral")
    data = random.Random(5).randbytes(30_000)
    repl = RawRepl(board.port)  # copies as mpremote does: open, write chunks...
    repl.enter()
    repl.exec("f = open('big.bin', 'wb')")
    for at in range(0, 8192, 1024):
        repl.exec(f"f.write({data[at:at + 1024]!r})")
    repl.serial.write(b"\x05A\x01")  # ...and is gone in the middle of the next chunk
    assert repl.reader.read_exactly(2) == b"R\x01"
    repl.serial.write(f"f.write({data[8192:9216]!r})".encode()[:500])
    repl.serial.close()
    big = tmp_path / "big.bin"
    big.write_bytes(data)
    mpremote(board.port, "fs", "cp", str(big), ":big.bin")
    out = mpremote(board.port, "exec", "import os; print(os.stat('big.bin')[6])").stdout
    assert out == "30000\n"
    mpremote(board.port, "fs", "cp", ":big.bin", str(tmp_path / "back.bin"))
    assert (tmp_path / "back.bin").read_bytes() == data


BOARDS = 16
ROUND_TRIPS = 1000


def test_sixteen_boards_each_do_a_thousand_checked_round_trips(start_board):
    ports = []
    for _ in range(BOARDS):
        ports.append(start_board("--ephemeral").port)
    failures: list[str] = []

    def drive(index: int, port: str) -> None:
        try:
            with RawRepl(port) as repl:
                repl.enter()
                for i in range(ROUND_TRIPS):
                    # Numbers, not new short string literals: those are
                    # interned for good, and 1,000 of them fill a Pyboard heap.
                    want = f"{index} {i} {i * i} " + "x" * (i % 40)
                    got = repl.exec(f"print({index}, {i}, {i}*{i}, 'x'*{i % 40})")
                    if got != want.encode() + b"\r\n":
                        failures.append(f"board {index} trip {i}: {got!r} != {want!r}")
                        return
        except Exception as e:  # reported below, with the board it came from
            failures.append(f"board {index}: {e!r}")

    threads = [threading.Thread(target=drive, args=(n, p)) for n, p in enumerate(ports)]
    for th in threads:
        th.start()
    for th in threads:
        th.join(120)
    assert not failures, failures[:5]
