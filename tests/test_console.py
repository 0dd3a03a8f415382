"""`vpyb console`, driven headless with prompt_toolkit's pipe input and
dummy output against a board's real pty."""
import io
import os
import subprocess
import sys
import threading

import pytest
from prompt_toolkit import PromptSession
from prompt_toolkit.document import Document
from prompt_toolkit.history import InMemoryHistory
from prompt_toolkit.input import create_pipe_input
from prompt_toolkit.output import DummyOutput

from conftest import mpremote
from vpyb.host_tools.console import Console
from vpyb.host_tools.console_input import BoardCompleter
from vpyb.host_tools.ports import PortInUse

EXIT = "\x1d"  # Ctrl-]


@pytest.fixture
def console(board):
    with create_pipe_input() as inp:
        session = PromptSession(input=inp, output=DummyOutput(), history=InMemoryHistory())
        out = io.StringIO()
        c = Console(board.port, out=out, session=session)
        c.keys = inp
        yield c
        c.repl.close()


def test_entries_run_with_values_echoed_and_multiline_blocks(console):
    console.keys.send_text("1+1\r")
    console.keys.send_text("for i in range(3):\r")
    console.keys.send_text("print(i * 10)\r\r")
    console.keys.send_text("1/0\r")
    console.keys.send_text(EXIT)
    console.loop()
    out = console.out.getvalue()
    assert "2\n" in out
    assert "0\n10\n20\n" in out
    assert 'File "<stdin>", line 1, in <module>\nZeroDivisionError: divide by zero\n' in out
    assert console.free_heap and console.free_heap > 50000


def test_output_streams_and_ctrl_c_interrupts(console):
    console.repl.sync()
    seen = []
    threading.Timer(0.5, console._interrupt.set).start()
    console.repl.run("import time\nwhile True:\n    print('tick')\n    time.sleep_ms(50)",
                     seen.append, console._interrupt.is_set)
    text = b"".join(seen).decode()
    assert text.count("tick") >= 5
    assert text.endswith("KeyboardInterrupt: \r\n")


def test_file_commands_and_soft_reset(console, tmp_path):
    src = tmp_path / "data.bin"
    src.write_bytes(bytes(range(256)) * 3)
    back = tmp_path / "back.bin"
    console.keys.send_text(f"%put {src} data.bin\r")
    console.keys.send_text("%ls\r")
    console.keys.send_text(f"%get data.bin {back}\r")
    console.keys.send_text("x = 5\r")
    console.keys.send_text("\x04")  # Ctrl-D: soft reset
    console.keys.send_text("x\r")
    console.keys.send_text(EXIT)
    console.loop()
    out = console.out.getvalue()
    assert "     768 data.bin" in out
    assert back.read_bytes() == src.read_bytes()
    assert "soft reset" in out and "NameError: name 'x' isn't defined" in out


def test_heapmap_command_draws_the_boards_heap(console, tmp_path):
    png_path = tmp_path / "h.png"
    console.keys.send_text(f"%heapmap {png_path}\r")
    console.keys.send_text("dir()\r")
    console.keys.send_text(EXIT)
    console.loop()
    out = console.out.getvalue()
    assert f"{png_path}: 103168 B heap" in out
    assert png_path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "'micropython'" not in out  # the command left no name behind


def test_completion_asks_the_board_without_touching_its_state(console):
    console.repl.sync()
    console.run_code("class C:\n    public_attr = 1\n    public_method = 2\nobj = C()")
    comp = BoardCompleter(console.repl, console.busy)
    names = [c.text for c in comp.get_completions(Document("obj.pub"), None)]
    assert names == ["public_attr", "public_method"]
    names = [c.text for c in comp.get_completions(Document("ob"), None)]
    assert names == ["obj"]
    console.run_code("_")
    assert "obj" not in console.out.getvalue().split("\n")[-2]


def test_toolbar_shows_the_virtual_boards_leds_and_free_heap(console):
    def leds() -> str:
        return "".join(text for _, text in console.toolbar() if text in "●○")

    console.repl.sync()
    assert leds() == "○○○○"
    console.run_code("import pyb\npyb.LED(2).on()\npyb.LED(4).intensity(40)")
    assert leds() == "○●○●"
    styles = [style for style, text in console.toolbar() if text == "●"]
    assert styles == ["bold fg:ansigreen", "bold fg:ansiblue"]
    text = "".join(text for _, text in console.toolbar())
    assert f"heap {console.free_heap} B free" in text


def test_help_lists_every_command_and_bad_quoting_is_one_line(console):
    console.keys.send_text("%help\r")
    console.keys.send_text("%put 'unclosed\r")
    console.keys.send_text(EXIT)
    console.loop()
    out = console.out.getvalue()
    for name in console.commands:
        assert f"\n%{name} " in out
    assert "%put: No closing quotation\n" in out


def test_the_console_holds_the_port_alone(console, board):
    # mpremote, and a second console, are refused while the console holds it.
    r = mpremote(board.port, "exec", "print(1)", check=False)
    assert r.returncode != 0 and "failed to access" in r.stderr
    with pytest.raises(PortInUse, match=rf"^{board.port} is in use by pid {os.getpid()} \("):
        Console(board.port)
    r = subprocess.run([sys.executable, "-m", "vpyb.host_tools.cli", "console", board.port],
                       capture_output=True, text=True, timeout=30, stdin=subprocess.DEVNULL)
    assert r.returncode == 1
    assert r.stderr == (f"vpyb console: {board.port} is in use by pid {os.getpid()} "
                        f"({' '.join(_cmdline(os.getpid()))[:60]}); close that first\n")
    r = subprocess.run([sys.executable, "-m", "vpyb.host_tools.cli", "heapmap", board.port],
                       capture_output=True, text=True, timeout=30)
    assert r.returncode == 1 and r.stderr.startswith(f"vpyb heapmap: {board.port} is in use by pid {os.getpid()} (")
    console.repl.close()
    assert mpremote(board.port, "exec", "print(1)").stdout == "1\n"  # free once the console is gone


def test_the_console_does_not_start_on_a_port_another_tool_holds(board):
    # What mpremote does on opening a port: pyserial's exclusive open.
    holder = subprocess.Popen([sys.executable, "-c", "import serial, sys; "
                               f"s = serial.Serial({board.port!r}, exclusive=True); print('held', flush=True); "
                               "sys.stdin.read()"], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline() == "held\n"
        r = subprocess.run([sys.executable, "-m", "vpyb.host_tools.cli", "console", board.port],
                           capture_output=True, text=True, timeout=30, stdin=subprocess.DEVNULL)
        assert r.returncode == 1
        assert r.stderr.startswith(f"vpyb console: {board.port} is in use by pid {holder.pid} (")
        assert "Traceback" not in r.stderr
    finally:
        holder.stdin.close()
        holder.wait(10)


def _cmdline(pid: int) -> list[str]:
    with open(f"/proc/{pid}/cmdline", "rb") as f:
        return [a.decode() for a in f.read().split(b"\0") if a]
