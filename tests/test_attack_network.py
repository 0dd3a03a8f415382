"""Attacks on the network endpoints: each test sends what a hostile or broken
client would, and asserts the endpoint drops that client alone, keeps its
memory bounded and serves the next client.  Loopback only; every loop is
bounded in count and time."""
from __future__ import annotations

import os
import random
import resource
import select
import signal
import socket
import struct
import subprocess
import sys
import time
from pathlib import Path

import pytest
import serial

from conftest import BoardProcess, mpremote
from test_endpoints import read_until, urls
from vpyb.device.endpoint_net import BUSY

IAC, SB, SE, WILL = b"\xff", b"\xfa", b"\xf0", b"\xfb"
COM_PORT = b"\x2c"


class BoardLog:
    """The board's stderr (its log), read without blocking."""

    def __init__(self, board: BoardProcess) -> None:
        self._fd = board.proc.stderr.fileno()
        os.set_blocking(self._fd, False)
        self.text = ""

    def read(self, wait: float = 0.0) -> str:
        if select.select([self._fd], [], [], wait)[0]:
            try:
                self.text += os.read(self._fd, 1 << 16).decode(errors="replace")
            except BlockingIOError:
                pass
        return self.text

    def wait_for(self, needle: str, timeout: float = 5.0) -> str:
        deadline = time.monotonic() + timeout
        while needle not in self.read(0.05) and time.monotonic() < deadline:
            pass
        assert needle in self.text, f"no {needle!r} in the board's log:\n{self.text}"
        return self.text


def address(url: str) -> tuple[str, int]:
    host, port = url.split("://")[1].split(":")
    return host, int(port)


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError("no VmRSS")


def closed_by_peer(s: socket.socket, timeout: float = 5.0) -> bool:
    """Whether the other end closes `s` within `timeout` (whatever it sent first)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        s.settimeout(max(0.01, deadline - time.monotonic()))
        try:
            if not s.recv(65536):
                return True
        except (ConnectionResetError, BrokenPipeError):
            return True
        except socket.timeout:
            return False
    return False


def serves(url: str) -> bool:
    return mpremote(url, "exec", "print(1)", timeout=30).stdout == "1\n"


@pytest.fixture
def net_board(start_board):
    board = start_board("--ephemeral", "--tcp", "0", "--rfc2217", "0", "--reset-on", "dtr")
    return board, urls(board), BoardLog(board)


# Each of these made pyserial's PortManager raise inside the endpoint's
# thread: the thread died holding the pty's lock, so no client could connect
# until vpyb restarted.
MALFORMED = {
    "SE without SB": IAC + SE,
    "baud rate cut short": IAC + SB + COM_PORT + b"\x01\x00" + IAC + SE,
    "parity 9": IAC + SB + COM_PORT + b"\x03\x09" + IAC + SE,
    "stop bits 9": IAC + SB + COM_PORT + b"\x04\x09" + IAC + SE,
    "empty line-state mask": IAC + SB + COM_PORT + b"\x0a" + IAC + SE,
    "empty data size": IAC + SB + COM_PORT + b"\x02" + IAC + SE,
}


def test_malformed_telnet_commands_drop_only_their_client(net_board):
    board, ends, log = net_board
    for name, attack in MALFORMED.items():
        with socket.create_connection(address(ends["rfc2217"]), timeout=5) as s:
            s.sendall(b"\r\x03" + attack)
            assert closed_by_peer(s), name
        log.wait_for("malformed Telnet")
    assert serves(ends["rfc2217"]) and serves(ends["socket"])
    assert "Traceback" not in log.read()


def test_an_endless_subnegotiation_is_cut_off(net_board):
    board, ends, log = net_board
    before = rss_kib(board.proc.pid)
    sent = 0
    with socket.create_connection(address(ends["rfc2217"]), timeout=5) as s:
        s.sendall(IAC + SB + COM_PORT)
        junk = bytes(range(255)) * 257  # ~64 KiB, no IAC: the subnegotiation never ends
        deadline = time.monotonic() + 10
        try:
            while sent < 32 << 20 and time.monotonic() < deadline:
                s.sendall(junk)
                sent += len(junk)
        except (BrokenPipeError, ConnectionResetError, socket.timeout):
            pass
        grown = rss_kib(board.proc.pid) - before
        assert closed_by_peer(s)
    log.wait_for("subnegotiation longer than")
    print(f"SB flood: {sent >> 10} KiB sent, host RSS {before} KiB, grown by {grown} KiB")
    assert grown < 1024
    assert serves(ends["rfc2217"])


def test_telnet_requests_that_are_never_read_stay_bounded(net_board):
    # Each IAC WILL <unknown option> earns a 3-byte refusal: a client that
    # sends them and never reads must not pile the refusals up in the host.
    board, ends, log = net_board
    before = rss_kib(board.proc.pid)
    sent = 0
    s = socket.create_connection(address(ends["rfc2217"]), timeout=2)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    requests = (IAC + WILL + b"\x99") * 21000  # ~63 KiB
    deadline = time.monotonic() + 8
    try:
        while sent < 64 << 20 and time.monotonic() < deadline:
            s.sendall(requests)
            sent += len(requests)
    except socket.timeout:
        pass  # the endpoint stopped reading: backpressure, as wanted
    grown = rss_kib(board.proc.pid) - before
    s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    s.close()  # a reset: the client leaves with its replies unread
    print(f"unread Telnet replies: {sent >> 10} KiB of requests taken, host RSS grown by {grown} KiB")
    assert grown < 1024
    assert serves(ends["rfc2217"])


def busy_holder(kind: str, ends: dict[str, str], board: BoardProcess) -> serial.SerialBase:
    if kind == "pty":  # locked as mpremote locks it
        return serial.serial_for_url(board.port, timeout=1, exclusive=True)
    return serial.serial_for_url(ends[kind], timeout=1)


@pytest.mark.parametrize("holder", ["socket", "rfc2217", "pty"])
def test_a_second_client_is_refused_cleanly(net_board, holder):
    board, ends, log = net_board
    with busy_holder(holder, ends, board) as held:
        time.sleep(0.1)  # the endpoint has taken the pty
        for proto, url in ends.items():
            r = mpremote(url, "exec", "print(1)", check=False, timeout=30)
            assert r.returncode == 1 and r.stdout == "", (proto, r)
            if proto == holder or proto == "rfc2217":
                # refused at connect or at the RFC 2217 handshake: mpremote's own message
                assert r.stderr == f"mpremote: failed to access {url} (it may be in use by another program)\n"
            else:
                # accepted, told it is busy, closed: mpremote doesn't catch errors
                # while entering the raw REPL, so pyserial's exception shows
                # ("socket disconnected", or a reset if its Ctrl-C met the close)
                assert "serial.serialutil.SerialException: read failed" in r.stderr
            with pytest.raises(OSError):  # SerialException, or pyserial's RFC 2217 handshake's own
                serial.serial_for_url(url, timeout=1).read(100)
        held.write(b"\r\x03")
        assert read_until(held, b">>> ").endswith(b">>> ")  # the holder is undisturbed
    for url in ends.values():
        assert serves(url)  # and the port is free again


def test_a_refusal_says_why(net_board):
    board, ends, log = net_board
    with serial.serial_for_url(ends["rfc2217"], timeout=1):
        with socket.create_connection(address(ends["socket"]), timeout=5) as other:
            assert other.recv(100) == BUSY and closed_by_peer(other)
        with pytest.raises(ConnectionRefusedError):  # its own endpoint stops listening
            socket.create_connection(address(ends["rfc2217"]), timeout=5)
    assert serves(ends["rfc2217"])


def test_dead_clients_release_the_port(net_board, tmp_path):
    board, ends, log = net_board
    # killed mid-transfer
    big = tmp_path / "big.bin"
    big.write_bytes(random.Random(1).randbytes(48 * 1024))
    env = dict(os.environ)
    env.pop("PYTHONUNBUFFERED", None)
    victim = subprocess.Popen([sys.executable, "-m", "mpremote", "connect", ends["socket"],
                               "fs", "cp", str(big), ":big.bin"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    try:
        log.wait_for("connected", 10)
        time.sleep(0.5)
    finally:
        victim.send_signal(signal.SIGKILL)
        victim.wait()
    assert serves(ends["socket"])
    # reset (RST) mid-line, and half-closed (FIN, then nothing)
    for leave in ("reset", "half-close"):
        s = socket.create_connection(address(ends["rfc2217"]), timeout=5)
        s.sendall(b"\r\x03print('unfinished")
        if leave == "reset":
            s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            s.close()
        else:
            s.shutdown(socket.SHUT_WR)
        assert serves(ends["rfc2217"]), leave
        s.close()


# Bytes that mean something to Telnet, RFC 2217 or the REPLs, drawn more often
# than chance would draw them.
LOADED = [0xff, 0xfa, 0xf0, 0xfb, 0xfc, 0xfd, 0xfe, 0x2c, 0x00, 0x01, 0x02, 0x03,
          0x04, 0x05, 0x06, 0x0a, 0x0d]


def noise(rng: random.Random, n: int) -> bytes:
    return bytes(rng.choice(LOADED) if rng.random() < 0.3 else rng.randrange(256) for _ in range(n))


def test_running_out_of_fds_refuses_clients_until_fds_are_back(net_board):
    board, ends, log = net_board
    pid = board.proc.pid
    time.sleep(1.0)  # the board's spare core is made after its prompt: its fds count too
    limits = resource.prlimit(pid, resource.RLIMIT_NOFILE)
    # RLIMIT_NOFILE bounds fd numbers, and a new fd takes the lowest free one:
    # with the limit at the second free number, exactly one more fd opens.
    used = {int(fd) for fd in os.listdir(f"/proc/{pid}/fd")}
    first_free, second_free = [n for n in range(len(used) + 2) if n not in used][:2]
    in_use = first_free
    try:
        # room for the connection, none for the pty: refused, and the port stays free
        resource.prlimit(pid, resource.RLIMIT_NOFILE, (second_free, limits[1]))
        with socket.create_connection(address(ends["socket"]), timeout=5) as s:
            assert closed_by_peer(s)
        log.wait_for("the board's port can't be opened")
        # no room at all: the connection waits in the backlog, the endpoint retries
        resource.prlimit(pid, resource.RLIMIT_NOFILE, (in_use, limits[1]))
        s = socket.create_connection(address(ends["socket"]), timeout=5)
        log.wait_for("can't accept a client")
    finally:
        resource.prlimit(pid, resource.RLIMIT_NOFILE, limits)
    with s:  # taken once fds are back
        s.sendall(b"\r\x03\x02print(6*7)\r")
        seen = b""
        deadline = time.monotonic() + 5
        while b"42\r\n>>> " not in seen and time.monotonic() < deadline:
            seen += s.recv(4096)
        assert b"42\r\n>>> " in seen
    assert serves(ends["rfc2217"])


def lo(state: str) -> None:
    subprocess.run(["ip", "link", "set", "lo", state], check=True)


def half_open_scenario() -> None:
    """Run by test_vanished_peers_release_the_port inside a network namespace
    of its own: with its loopback down, a client closes and its goodbye is
    lost, so the board's side stays open with nobody behind it."""
    lo("up")
    board = BoardProcess("--ephemeral", "--tcp", "0")
    try:
        url = board.proc.stdout.readline().decode().split()[-1]
        log = BoardLog(board)
        for case in ("output waiting", "idle"):
            s = socket.create_connection(address(url), timeout=5)
            if case == "output waiting":  # the board prints to the vanished peer
                s.sendall(b"\r\x03\x01import time\nfor i in range(300):\n print(i)\n time.sleep(0.1)\n\x04")
                seen = b""
                while b"\r\n5\r\n" not in seen:
                    seen += s.recv(4096)
            else:  # once the last client's trailing output is read, nothing moves
                s.settimeout(0.5)
                try:
                    while s.recv(4096):
                        pass
                except socket.timeout:
                    pass
            lo("down")
            s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            s.close()
            if case == "idle":
                lo("up")  # the peer's host is back, without the connection
            start = time.monotonic()
            log.wait_for("dropped", 40)
            took = time.monotonic() - start
            print(f"{case}: vanished peer dropped after {took:.1f} s")
            assert took > 3, case  # found by the probes and timeouts, not by chance
            log.text = ""
            lo("up")
            assert serves(url)
    finally:
        lo("up")
        board.stop()


def test_vanished_peers_release_the_port():
    if subprocess.run(["unshare", "--net", "true"], capture_output=True).returncode:
        pytest.skip("no network namespaces here (unshare --net)")
    code = "import test_attack_network as t; t.half_open_scenario()"
    r = subprocess.run(["unshare", "--net", sys.executable, "-c", code], cwd=Path(__file__).parent,
                       capture_output=True, text=True, timeout=120)
    print(r.stdout)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "output waiting: vanished peer dropped" in r.stdout and "idle: vanished peer dropped" in r.stdout


def fuzz(url: str, rng: random.Random, rounds: int, deadline: float) -> int:
    """Random bytes from short-lived clients; returns how many connected."""
    done = 0
    for _ in range(rounds):
        if time.monotonic() > deadline:
            break
        try:
            s = socket.create_connection(address(url), timeout=2)
        except ConnectionRefusedError:
            time.sleep(0.01)  # the last one is still being let go
            continue
        with s:
            s.settimeout(0.2)
            try:
                for _ in range(rng.randint(1, 4)):
                    s.sendall(noise(rng, rng.randint(1, 2048)))
                    if rng.random() < 0.5:
                        s.recv(65536)
            except (socket.timeout, ConnectionResetError, BrokenPipeError):
                pass
            if rng.random() < 0.3:
                s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        done += 1
    return done


def test_endpoints_survive_random_bytes(net_board):
    board, ends, log = net_board
    rng = random.Random(2217)
    start = time.monotonic()
    deadline = start + 40
    for _ in range(3):
        for url in ends.values():
            assert fuzz(url, rng, 15, deadline) > 0
    # What the fuzzers sent before leaving still reaches the board (as a real
    # board digests what its USB buffers hold): wait until it is quiet.  The
    # last fuzzer's endpoint may still be letting go of the port: a refused
    # listener is tried again.
    quiet_by = time.monotonic() + 30
    while time.monotonic() < quiet_by:
        try:
            with serial.serial_for_url(ends["socket"], timeout=0.5) as s:
                while s.read(65536) and time.monotonic() < quiet_by:
                    pass
            break
        except serial.SerialException:
            time.sleep(0.2)
    for url in ends.values():
        assert serves(url)
    with serial.serial_for_url(ends["rfc2217"], timeout=1) as s:
        s.write(b"\r\x03\x02print(6*7)\r")
        assert b"42\r\n>>> " in read_until(s, b"42\r\n>>> ")
    assert "Traceback" not in log.read() and "Exception" not in log.text
    # ~60 clients came and went, many dropped for malformed Telnet: each
    # endpoint logs at most 5 lines per 10 s
    windows = int((time.monotonic() - start) // 10) + 1
    lines = [line for line in log.text.splitlines() if "://" in line]
    print(f"fuzz: {len(lines)} endpoint log lines in {time.monotonic() - start:.1f} s")
    assert len(lines) <= 2 * 5 * windows


def test_a_client_that_never_reads_does_not_hold_up_the_board(net_board):
    board, ends, log = net_board
    before = rss_kib(board.proc.pid)
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    s.connect(address(ends["socket"]))
    s.settimeout(5)
    # ~8 MB of output in the raw REPL, nobody reading it
    s.sendall(b"\r\x03\x01for i in range(8000): print('x' * 1000)\x04")
    time.sleep(4)
    grown = rss_kib(board.proc.pid) - before
    s.settimeout(1)
    got = b""
    try:
        while len(got) < 16 << 20:
            chunk = s.recv(65536)
            if not chunk:
                break
            got += chunk
    except socket.timeout:
        pass
    s.sendall(b"\x02")  # back to the friendly REPL: the run is over
    s.settimeout(5)
    seen = b""
    deadline = time.monotonic() + 5
    while not seen.endswith(b">>> ") and time.monotonic() < deadline:
        seen += s.recv(4096)
    s.close()
    print(f"never-read client: {len(got) >> 10} KiB of ~7.8 MiB delivered, host RSS grown by {grown} KiB")
    assert seen.endswith(b">>> ")
    assert len(got) < 6 << 20  # the rest was dropped, as a USB CDC drops it
    assert grown < 4096  # held back per client: a chunk, never the 7.8 MiB
