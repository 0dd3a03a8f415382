"""Attacks on the developer's machine from a board, from its clients and from
other local users: each test performs the attack and asserts the refusal
(DESIGN.md decision 9: the host trusts nothing from the board or its clients)."""
from __future__ import annotations

import io

import pytest
from prompt_toolkit import PromptSession
from prompt_toolkit.document import Document
from prompt_toolkit.history import InMemoryHistory
from prompt_toolkit.input import create_pipe_input
from prompt_toolkit.output import DummyOutput

from vpyb.host_tools.console import BoardCompleter, Console

EXIT = "\x1d"  # Ctrl-]


@pytest.fixture
def console(board):
    with create_pipe_input() as inp:
        session = PromptSession(input=inp, output=DummyOutput(), history=InMemoryHistory())
        c = Console(board.port, out=io.StringIO(), session=session)
        c.keys = inp
        yield c
        c.repl.close()


def _install_main(console: Console, source: str) -> None:
    """A hostile main.py: it runs at the soft reset, in the REPL's globals."""
    console.repl.sync()
    console.run_code(f"f = open('main.py', 'w'); f.write({source!r}); f.close()")
    console.reset([])


def _completions(console: Console, text: str) -> list[str]:
    comp = BoardCompleter(console.repl, console.busy, console._notify)
    return [c.text for c in comp.get_completions(Document(text), None)]


def test_board_text_never_runs_on_the_host(console, tmp_path):
    # `repr` and `sorted` rebound by main.py answer the console's questions
    # (completion, %get's chunks) with Python code that touches a file here.
    pwned = tmp_path / "pwned"
    payload = f"__import__('pathlib').Path({str(pwned)!r}).touch()"
    _install_main(console, f"P = {payload!r}\ndef repr(x):\n    return P\ndef sorted(x):\n    return P\n")
    assert _completions(console, "P") == []
    assert "completion refused: the board's reply is not a list literal" in console.notice
    assert "completion refused" in "".join(text for _, text in console.toolbar())
    got = tmp_path / "got.py"
    console.keys.send_text(f"%get main.py {got}\r")
    console.keys.send_text("6 * 7\r")  # the console survives, the board answers
    console.keys.send_text(EXIT)
    console.loop()
    out = console.out.getvalue()
    assert "%get: the board's reply is not a bytes literal: \"__import__('pathlib')" in out
    assert "42\n" in out
    assert not got.exists()
    assert not pwned.exists()
    assert console.free_heap is None  # its mem_free() answer was no int either


def test_completion_offers_only_names(console):
    # A list literal whose items are not identifiers (text that would run on
    # the board if inserted and sent) is not offered.
    _install_main(console, "def sorted(x):\n"
                           "    return ['ok_name', 'x; import os', 3, 'ok\\nprint(1)', b'by']\n")
    assert _completions(console, "o") == ["ok_name"]


def test_a_flood_of_board_output_is_cut_off(console):
    # sorted() that never stops talking: the question is cut off with Ctrl-C
    # after REPLY_LIMIT bytes, the console keeps its memory and its board.
    _install_main(console, "def sorted(x):\n    while True:\n        print('x' * 1000)\n")
    assert _completions(console, "s") == []
    assert "over 1048576 bytes" in console.notice
    console.run_code("6 * 7")
    assert console.out.getvalue().endswith("42\n")


def test_a_forged_heap_map_is_refused(console, tmp_path):
    # A block map claiming a trillion free lines would have the host build
    # rows for all of them; it is refused at the most any heap can have.
    _install_main(console, "class _M:\n"
                           "    def mem_info(self, *a):\n"
                           "        print('GC: total: 1, used: 1, free: 1')\n"
                           "        print('GC memory layout; from 0:')\n"
                           "        print('       (999999999999 lines all free)')\n"
                           "def __import__(name, *a):\n"
                           "    return _M()\n")
    png = tmp_path / "h.png"
    console.keys.send_text(f"%heapmap {png}\r")
    console.keys.send_text(EXIT)
    console.loop()
    assert "%heapmap: the board's block map is over 65536 lines" in console.out.getvalue()
    assert not png.exists()
