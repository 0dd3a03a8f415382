"""pytest plugin (entry point `vpyb`): virtual Pyboards as test fixtures.

    def test_blink(board):
        board.exec("import pyb; pyb.LED(2).on()")
        assert board.led(2).on

Fixtures: `board` (a fresh board per test) and `board_factory` (several,
optionally wired together).  Options: --vpyb-board TOML, --vpyb-heap SIZE,
--vpyb-fs, --vpyb-log-dir DIR, and --vpyb-real PORT to run the same tests on
a real board.

Every board's serial line is logged, a file per test (transcript.py); a
failing test's report ends with the last lines of it and the file's path.
"""
from __future__ import annotations

import re
import sys
from pathlib import Path
from typing import Any, Callable, Iterator

import pytest

from vpyb.device.board import PYBV11_GC_POOL, VirtualBoard
from vpyb.device.board_file import wire
from vpyb.device.hardware import UARTPort
from vpyb.device.models.uart_links import crossover
from vpyb.device.sizes import check_heap
from vpyb.host_tools.cli import size_type
from vpyb.host_tools.transcript import TAIL_LINES, TappedSerial, Transcript
from vpyb.protocol.board_files import BoardFiles
from vpyb.protocol.port_reader import open_port
from vpyb.protocol.raw_repl import RawRepl

NEEDS_VIRTUAL = "needs vpyb's host-side peripheral models; not available on a real board"
FACTORY = pytest.StashKey["BoardFactory"]()


def _log(msg: str) -> None:
    print(f"vpyb: {msg}", file=sys.stderr)


class BoardHandle:
    """What a test gets: the board's port, a raw-REPL client on it, its files
    and, on a virtual board, everything VirtualBoard offers (i2c(), pin(),
    led(), uart(), hard_reset(), power_cut()...)."""

    def __init__(self, virtual: VirtualBoard | None, transcript: Transcript,
                 real_port: str | None = None) -> None:
        self.virtual = virtual
        self.transcript = transcript
        self._real_port = real_port
        self._repl: RawRepl | None = None

    @property
    def port(self) -> str:
        """The port for another tool (mpremote, pyserial, pytest-embedded).
        The fixture's own client lets go of it first, and connects again at
        the next exec()."""
        self.release()
        return self._port_name()

    def _port_name(self) -> str:
        return self.virtual.port if self.virtual is not None else str(self._real_port)

    @property
    def repl(self) -> RawRepl:
        repl = self._client()
        if not repl.in_raw:  # new, or the board reset under the last run (BoardReset)
            repl.enter()
        return repl

    def _client(self) -> RawRepl:
        if self._repl is None:
            port = self._port_name()
            # A virtual board's wire logs every byte; a real board's are this client's.
            self._repl = RawRepl(port if self.virtual is not None
                                 else TappedSerial(open_port(port, 10.0), self.transcript))
        return self._repl

    @property
    def log_path(self) -> Path:
        """The file holding everything on this board's serial line."""
        return self.transcript.path

    def expect(self, pattern: str | bytes | re.Pattern, timeout: float = 10.0) -> re.Match[bytes]:
        """Waits for the board to print `pattern`, a regular expression (str,
        bytes or compiled; re.escape() for literal text), and returns the
        match; what the board printed up to the match's end is consumed.
        Raises ExpectTimeout (an AssertionError) with the bytes seen and the
        log's path if it doesn't come within `timeout` seconds."""
        if self.virtual is not None:
            return self.transcript.expect(pattern, timeout)
        reader = self.repl.reader  # a real board's bytes come only when read
        return self.transcript.expect(pattern, timeout, reader.read_available)

    def release(self) -> None:
        if self._repl is not None:
            try:
                self._repl.close()
            except OSError:
                pass
            self._repl = None

    def exec(self, code: str) -> str:
        """Runs code at the raw REPL; returns its output, raises
        RemoteError (with the board's traceback) if it raised."""
        return self.repl.exec(code).decode(errors="replace")

    def eval(self, expression: str) -> Any:
        return self.repl.eval(expression)

    def soft_reset(self) -> None:
        self._client().enter(soft_reset=True)

    def hard_reset(self) -> None:
        """RST pressed: the board reboots (HARD_RESET); waits for its prompt."""
        self._reset(self._needs_virtual("hard_reset").hard_reset)

    def power_cut(self) -> None:
        """Power lost mid-whatever and back (PWRON_RESET); waits for the prompt."""
        self._reset(self._needs_virtual("power_cut").power_cut)

    def _reset(self, action: Callable[[], None]) -> None:
        self.release()
        action()
        if not self.virtual.wait_prompt(10):
            raise TimeoutError("no prompt after the reset")

    def _needs_virtual(self, what: str) -> VirtualBoard:
        if self.virtual is None:
            pytest.skip(f"board.{what}: {NEEDS_VIRTUAL}")
        return self.virtual

    @property
    def fs(self) -> BoardFiles:
        return BoardFiles(self.repl)

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_") or name == "virtual":
            raise AttributeError(name)
        if self.virtual is None and not hasattr(VirtualBoard, name):
            raise AttributeError(name)
        return getattr(self._needs_virtual(name), name)


class BoardFactory:
    """`board_factory()` makes a board; `board_factory(board="wiring.toml",
    heap=..., fs=..., freeze=DIR)` one set up differently.  `link_uarts(a, 4, b, 2)` joins
    two boards' UARTs with a crossover cable."""

    def __init__(self, config: pytest.Config, log_name: str, log_dir: Path) -> None:
        self._config = config
        self._log_name = log_name
        self._log_dir = log_dir
        self._made: list[BoardHandle] = []

    def _transcript(self) -> Transcript:
        n = len(self._made) + 1
        self._log_dir.mkdir(parents=True, exist_ok=True)
        return Transcript(self._log_dir / f"{self._log_name}{f'-board{n}' if n > 1 else ''}.log")

    def report(self) -> list[tuple[str, str]]:
        """For a failed test's report: each board's last lines and log file."""
        return [(f"vpyb serial: last {TAIL_LINES} lines of {handle.log_path}",
                 handle.transcript.tail() or "(nothing on the line)") for handle in self._made]

    def __call__(self, *, board: str | Path | None = None, heap: int | None = None,
                 fs: str | None = None, freeze: str | Path | None = None) -> BoardHandle:
        real = self._config.getoption("vpyb_real")
        if real:
            if self._made:
                pytest.skip(f"one real board only (--vpyb-real {real})")
            handle = BoardHandle(None, self._transcript(), real)
            self._made.append(handle)
            handle.soft_reset()
            return handle
        transcript = self._transcript()
        try:
            virtual = VirtualBoard(ephemeral=True, heap=heap or self._config.getoption("vpyb_heap"),
                                   fs=fs or self._config.getoption("vpyb_fs"),
                                   freeze=freeze or self._config.getoption("vpyb_freeze"), log=_log,
                                   serial_trace=transcript)
        except ValueError:  # a size or filesystem it refuses
            transcript.close()
            raise
        handle = BoardHandle(virtual, transcript)
        self._made.append(handle)  # before start: a failed start is cleaned up too
        board = board or self._config.getoption("vpyb_board")
        if board:
            wire(virtual.hardware, board, _log)
        virtual.start()
        return handle

    def link_uarts(self, a: BoardHandle, unit_a: int | str, b: BoardHandle,
                   unit_b: int | str) -> None:
        ports: list[UARTPort] = [a.uart(unit_a), b.uart(unit_b)]
        ports[0].peer, ports[1].peer = crossover()

    def close(self) -> None:
        for handle in reversed(self._made):
            handle.release()
            if handle.virtual is not None:
                handle.virtual.stop()
            handle.transcript.close()
        self._made.clear()


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("vpyb", "virtual Pyboards (vpyb)")
    group.addoption("--vpyb-board", metavar="TOML", default=None,
                    help="wiring for every board the fixtures make (see vpyb's README)")
    group.addoption("--vpyb-heap", metavar="SIZE", type=size_type(check_heap), default=PYBV11_GC_POOL,
                    help="GC heap of the boards, e.g. 103168 or 256k (default: a PYBv1.1's)")
    group.addoption("--vpyb-fs", choices=("fat", "littlefs"), default="fat",
                    help="filesystem on the boards' /flash")
    group.addoption("--vpyb-freeze", metavar="DIR", default=None,
                    help="modules frozen into every board (mounted at /rom)")
    group.addoption("--vpyb-log-dir", metavar="DIR", default=None,
                    help="where each test's serial log goes (default: pytest's temporary "
                         "directory, vpyb-logs/)")
    group.addoption("--vpyb-real", metavar="PORT", default=None,
                    help="run against the real board on PORT; tests that need host-side "
                         "models are skipped")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "vpyb_virtual: the test needs a virtual board "
                            "(skipped with --vpyb-real)")


def pytest_runtest_setup(item: pytest.Item) -> None:
    if item.get_closest_marker("vpyb_virtual") and item.config.getoption("vpyb_real"):
        pytest.skip(NEEDS_VIRTUAL)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo) -> Iterator[None]:
    outcome = yield
    report = outcome.get_result()
    factory = item.stash.get(FACTORY, None)
    if report.failed and factory is not None:
        report.sections.extend(factory.report())


@pytest.fixture
def board_factory(request: pytest.FixtureRequest,
                  tmp_path_factory: pytest.TempPathFactory) -> Iterator[BoardFactory]:
    option = request.config.getoption("vpyb_log_dir")
    log_dir = Path(option) if option else tmp_path_factory.getbasetemp() / "vpyb-logs"
    name = re.sub(r"[^\w.-]+", "_", request.node.nodeid)[-150:]
    factory = BoardFactory(request.config, name, log_dir)
    request.node.stash[FACTORY] = factory
    try:
        yield factory
    finally:
        factory.close()


@pytest.fixture
def board(board_factory: BoardFactory) -> BoardHandle:
    return board_factory()
