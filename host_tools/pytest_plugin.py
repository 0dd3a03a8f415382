"""pytest plugin (entry point `vpyb`): virtual Pyboards as test fixtures.

    def test_blink(board):
        board.exec("import pyb; pyb.LED(2).on()")
        assert board.led(2).on

Fixtures: `board` (a fresh board per test) and `board_factory` (several,
optionally wired together).  Options: --vpyb-board TOML, --vpyb-heap SIZE,
--vpyb-fs, and --vpyb-real PORT to run the same tests on a real board.
"""
from __future__ import annotations

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
from vpyb.protocol.board_files import BoardFiles
from vpyb.protocol.raw_repl import RawRepl

NEEDS_VIRTUAL = "needs vpyb's host-side peripheral models; not available on a real board"


def _log(msg: str) -> None:
    print(f"vpyb: {msg}", file=sys.stderr)


class BoardHandle:
    """What a test gets: the board's port, a raw-REPL client on it, its files
    and, on a virtual board, everything VirtualBoard offers (i2c(), pin(),
    led(), uart(), hard_reset(), power_cut()...)."""

    def __init__(self, virtual: VirtualBoard | None, real_port: str | None = None) -> None:
        self.virtual = virtual
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
        if self._repl is None:
            self._repl = RawRepl(self._port_name())
            self._repl.enter()
        return self._repl

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
        self.repl.enter(soft_reset=True)

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

    def __init__(self, config: pytest.Config) -> None:
        self._config = config
        self._made: list[BoardHandle] = []

    def __call__(self, *, board: str | Path | None = None, heap: int | None = None,
                 fs: str | None = None, freeze: str | Path | None = None) -> BoardHandle:
        real = self._config.getoption("vpyb_real")
        if real:
            if self._made:
                pytest.skip(f"one real board only (--vpyb-real {real})")
            handle = BoardHandle(None, real)
            self._made.append(handle)
            handle.soft_reset()
            return handle
        virtual = VirtualBoard(ephemeral=True, heap=heap or self._config.getoption("vpyb_heap"),
                               fs=fs or self._config.getoption("vpyb_fs"),
                               freeze=freeze or self._config.getoption("vpyb_freeze"), log=_log)
        handle = BoardHandle(virtual)
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
    group.addoption("--vpyb-real", metavar="PORT", default=None,
                    help="run against the real board on PORT; tests that need host-side "
                         "models are skipped")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "vpyb_virtual: the test needs a virtual board "
                            "(skipped with --vpyb-real)")


def pytest_runtest_setup(item: pytest.Item) -> None:
    if item.get_closest_marker("vpyb_virtual") and item.config.getoption("vpyb_real"):
        pytest.skip(NEEDS_VIRTUAL)


@pytest.fixture
def board_factory(request: pytest.FixtureRequest) -> Iterator[BoardFactory]:
    factory = BoardFactory(request.config)
    try:
        yield factory
    finally:
        factory.close()


@pytest.fixture
def board(board_factory: BoardFactory) -> BoardHandle:
    return board_factory()
