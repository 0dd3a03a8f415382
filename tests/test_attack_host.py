"""Attacks on the developer's machine from a board, from its clients and from
other local users: each test performs the attack and asserts the refusal
(DESIGN.md decision 9: the host trusts nothing from the board or its clients)."""
from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path

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


# --- the board registry: entries another local user plants ----------------

OTHER_UID = 12345  # a user who is not us (the tests run as root in CI: chown works)
needs_root = pytest.mark.skipif(os.getuid() != 0, reason="giving a file to another user needs root")


def _vpyb_ports(tmp_path: Path, **env: str) -> subprocess.CompletedProcess:
    """`vpyb ports` as a user without $XDG_RUNTIME_DIR whose temp dir is tmp_path."""
    environ = {k: v for k, v in os.environ.items() if k not in ("XDG_RUNTIME_DIR", "VPYB_RUNTIME")}
    environ.update(TMPDIR=str(tmp_path), **env)
    return subprocess.run([sys.executable, "-m", "vpyb.host_tools.cli", "ports"], env=environ,
                          capture_output=True, text=True, timeout=30)


def _entry(directory: Path, name: str, pid: int, port: str) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{name}.json"
    path.write_text(json.dumps({"pid": pid, "port": port, "state_dir": "/x", "regs": None, "urls": []}))
    return path


@needs_root
def test_a_registry_made_by_another_user_is_ignored(tmp_path):
    # Another user takes /tmp/vpyb-<our uid> first and lists a board for one of
    # our live processes (this one): a port of theirs the console would open.
    base = tmp_path / f"vpyb-{os.getuid()}"
    _entry(base / "boards", "planted", os.getpid(), "/dev/pts/planted-foreign")
    for path in (base, base / "boards"):
        path.chmod(0o700)
        os.chown(path, OTHER_UID, OTHER_UID)
    r = _vpyb_ports(tmp_path)
    assert "planted" not in r.stdout
    assert r.stderr == f"vpyb: ignoring the board registry {base}: it is owned by uid {OTHER_UID}, not by you\n"
    # The same through $XDG_RUNTIME_DIR naming another user's directory.
    run = tmp_path / "run"
    _entry(run / "vpyb" / "boards", "planted", os.getpid(), "/dev/pts/planted-runtime")
    os.chown(run, OTHER_UID, OTHER_UID)
    r = _vpyb_ports(tmp_path, XDG_RUNTIME_DIR=str(run))
    assert "planted" not in r.stdout and "ignoring the runtime directory" in r.stderr


@pytest.mark.parametrize("kind", ["symlink", "world-writable"])
def test_a_registry_others_could_write_is_ignored(tmp_path, kind):
    base = tmp_path / f"vpyb-{os.getuid()}"
    theirs = tmp_path / "theirs"
    _entry(theirs / "boards", "planted", os.getpid(), "/dev/pts/planted-dir")
    if kind == "symlink":
        base.symlink_to(theirs)
    else:
        theirs.rename(base)
        base.chmod(0o777)
    r = _vpyb_ports(tmp_path)
    assert "planted" not in r.stdout
    assert r.stderr.startswith(f"vpyb: ignoring the board registry {base}: it is ")
    assert len(r.stderr.splitlines()) == 1


def test_planted_entries_are_not_listed(tmp_path):
    boards = tmp_path / f"vpyb-{os.getuid()}" / "boards"
    ours = _entry(boards, "ours", os.getpid(), "/dev/pts/ours")  # the control: a good entry
    elsewhere = _entry(tmp_path / "elsewhere", "x", os.getpid(), "/dev/pts/planted-link")
    (boards / "link.json").symlink_to(elsewhere)
    dead = subprocess.Popen(["true"])
    dead.wait()
    stale = _entry(boards, "dead", dead.pid, "/dev/pts/planted-dead")
    os.mkfifo(boards / "fifo.json")  # would block a reader that opened it plainly
    _entry(boards, "group", 1, "/dev/pts/planted-negative").write_text(
        json.dumps({"pid": -1, "port": "/dev/pts/planted-negative", "state_dir": "/x"}))
    _entry(boards, "junk", 1, "x").write_text('{"pid": "1", "port": 5, "state_dir": []}')
    others = []
    if os.getuid() == 0:
        foreign_file = _entry(boards, "foreign-file", os.getpid(), "/dev/pts/planted-file")
        os.chown(foreign_file, OTHER_UID, OTHER_UID)
        sleeper = subprocess.Popen(["sleep", "60"], user=OTHER_UID)
        others.append(sleeper)
        _entry(boards, "foreign-proc", sleeper.pid, "/dev/pts/planted-proc")
    try:
        r = _vpyb_ports(tmp_path)
    finally:
        for p in others:
            p.kill()
            p.wait()
    assert [line.split() for line in r.stdout.splitlines()] == [
        ["/dev/pts/ours", "virtual", "vpyb", "pid", f"{os.getpid()},", "state", "/x"]]
    assert r.stderr == ""
    assert ours.exists() and not stale.exists()  # a dead board's entry is cleared
