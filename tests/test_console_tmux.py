"""`vpyb console` end to end in a real terminal (tmux) against a virtual
board: what a person types, what the screen shows."""
import os
import shutil
import subprocess
import sys
import time

import pytest

pytestmark = pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed")

AT_PROMPT = "Ctrl-] exit"  # the prompt's toolbar; while code runs it says "running"
RUNNING = "running: Ctrl-C interrupts"


def tmux(*args: str) -> str:
    return subprocess.run(["tmux", *args], capture_output=True, text=True, timeout=10).stdout


def _last_index(lines: list[str], line: str) -> int:
    return max((i for i, text in enumerate(lines) if text == line), default=-1)


class Screen:
    """The console in a 100x30 tmux window."""

    def __init__(self, port: str, state: str, cwd: str) -> None:
        self.name = f"vpyb-{os.getpid()}-{time.monotonic_ns()}"
        cmd = (f"env XDG_STATE_HOME={state} {sys.executable} -m vpyb.host_tools.cli console {port}; "
               "echo rc=$?; sleep 30")
        tmux("new-session", "-d", "-s", self.name, "-x", "100", "-y", "30", "-c", cwd, cmd)

    def type(self, *keys: str) -> None:
        tmux("send-keys", "-t", self.name, *keys)

    def enter(self, *keys: str, output: str | None = None) -> str:
        """Types an entry (its lines, Enter after each) and waits for the
        prompt after it: keys typed while code runs go to the board."""
        for line in keys:
            self.type(line, "Enter")
        if output:
            self.shows(output)
        return self.back_at_prompt(f">>> {keys[0]}")

    def back_at_prompt(self, entry: str, timeout: float = 10.0) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            lines = self.lines()
            after = [line for line in lines[max(_last_index(lines, entry), 0):] if line.startswith(">>>")]
            if entry in lines and after[-1] == ">>>" and AT_PROMPT in lines[-1]:
                return "\n".join(lines)
            time.sleep(0.05)
        raise AssertionError(f"no prompt after {entry!r}:\n{self.pane()}")

    def pane(self) -> str:
        return tmux("capture-pane", "-p", "-t", self.name)

    def lines(self) -> list[str]:
        return self.pane().splitlines()

    def shows(self, text: str, timeout: float = 10.0) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            pane = self.pane()
            if text in pane:
                return pane
            time.sleep(0.05)
        raise AssertionError(f"{text!r} never appeared on screen:\n{pane}")

    def bottom_rows(self, seconds: float) -> set[str]:
        """The bottom row (the toolbar) as it changes over some seconds."""
        seen = set()
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            seen.add(tmux("capture-pane", "-p", "-t", self.name, "-S", "29", "-E", "29").strip())
            time.sleep(0.05)
        return seen

    def close(self) -> None:
        tmux("kill-session", "-t", self.name)


@pytest.fixture
def screen(board, tmp_path):
    s = Screen(board.port, str(tmp_path / "state"), str(tmp_path))
    try:
        s.shows("Connected to")
        s.shows(AT_PROMPT)
        yield s
    finally:
        s.close()


def test_console_in_tmux(board, screen):
    screen.enter("21 * 2", output="42")
    screen.type("while True: pass", "Enter", "Enter")
    screen.shows(RUNNING)  # the toolbar stays while code runs
    time.sleep(0.5)  # a Ctrl-C that reaches the board before its code runs is input, as on hardware
    screen.type("C-c")
    screen.shows("KeyboardInterrupt")
    pane = screen.back_at_prompt(">>> while True: pass")
    assert board.port in pane and "B free" in pane
    # Keys typed while code runs reach the board: input() gets them.
    screen.type("name = input('na' + 'me? ')", "Enter")
    screen.shows("name?")  # trailing spaces are trimmed
    screen.type("Ada", "Enter")
    screen.back_at_prompt(">>> name = input('na' + 'me? ')")
    screen.enter("name.upper()", output="'ADA'")
    screen.type("C-]")
    screen.shows("rc=0")


def test_output_lines_start_at_the_left_edge_and_help_lists_the_commands(screen):
    pane = screen.enter("for i in range(3): print('row', i)", "", output="row 2")
    assert [line for line in pane.splitlines() if "row " in line and "print" not in line] == [
        "row 0", "row 1", "row 2"]
    pane = screen.enter("%help", output="%exit")
    assert "%put LOCAL [REMOTE]    copy a file to the board" in pane
    assert "Traceback" not in pane


def test_put_and_get_show_no_traceback(screen, tmp_path):
    (tmp_path / "data.bin").write_bytes(bytes(range(256)) * 5)
    screen.enter("%put data.bin d.bin")
    pane = screen.enter("%get d.bin back.bin", output="get :d.bin -> back.bin")
    assert (tmp_path / "back.bin").read_bytes() == (tmp_path / "data.bin").read_bytes()
    assert "Traceback" not in pane and "EOFError" not in pane


def test_leds_stay_live_while_code_runs_and_at_the_prompt(screen):
    screen.enter("import pyb, time")
    screen.type("while True: pyb.LED(1).toggle(); time.sleep_ms(200)", "Enter", "Enter")
    screen.shows(RUNNING)
    rows = screen.bottom_rows(1.5)
    assert any("LED ●○○○" in r and RUNNING in r for r in rows), rows
    assert any("LED ○○○○" in r and RUNNING in r for r in rows), rows
    screen.type("C-c")
    screen.back_at_prompt(">>> while True: pyb.LED(1).toggle(); time.sleep_ms(200)")
    # At the prompt, with no key pressed: a timer's callback blinks LED 2.
    screen.enter("pyb.LED(1).off(); led = pyb.LED(2)")
    screen.enter("t = pyb.Timer(4, freq=5, callback=lambda t: led.toggle())")
    rows = screen.bottom_rows(1.5)
    assert any("LED ○●○○" in r and AT_PROMPT in r for r in rows), rows
    assert any("LED ○○○○" in r and AT_PROMPT in r for r in rows), rows


def test_what_the_board_prints_at_its_prompt_shows_above_the_prompt(screen):
    screen.enter("import pyb")
    screen.enter("n = 0")
    screen.enter("def cb(t):", "global n", "n += 1", "print('tick', n)", "")
    screen.enter("t = pyb.Timer(4, freq=4, callback=cb)")
    screen.shows("tick")
    screen.type("x = 1")  # a half-typed entry stays below the ticks
    time.sleep(1)
    lines = screen.pane().rstrip().splitlines()
    ticks = [i for i, line in enumerate(lines) if line.startswith("tick")]
    assert len(ticks) >= 4 and lines.index(">>> x = 1") > ticks[-1], lines
    screen.type("C-u")
    screen.enter("t.deinit()")


def test_a_board_that_goes_away_ends_the_console_with_one_line(board, screen):
    screen.enter("1 + 1", output="2")
    board.stop()  # as a real board unplugged: its port hangs up
    screen.shows(f"vpyb console: {board.port}: [Errno 5] Input/output error")
    screen.type("2 + 2", "Enter")
    pane = screen.shows("rc=1")
    assert "Traceback" not in pane
