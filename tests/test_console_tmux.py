"""`vpyb console` once end to end in a real terminal (tmux) against a
virtual board: what a person types, what the screen shows."""
import os
import shutil
import subprocess
import sys
import time

import pytest

pytestmark = pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed")


def tmux(*args: str) -> str:
    return subprocess.run(["tmux", *args], capture_output=True, text=True, timeout=10).stdout


def screen_shows(session: str, text: str, timeout: float = 10.0) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        pane = tmux("capture-pane", "-p", "-t", session)
        if text in pane:
            return pane
        time.sleep(0.1)
    raise AssertionError(f"{text!r} never appeared on screen:\n{pane}")


def test_console_in_tmux(board, tmp_path):
    session = f"vpyb-{os.getpid()}"
    cmd = (f"env XDG_STATE_HOME={tmp_path} {sys.executable} -m vpyb.host_tools.cli console {board.port}")
    tmux("new-session", "-d", "-s", session, "-x", "100", "-y", "30", cmd)
    try:
        screen_shows(session, "Connected to")
        tmux("send-keys", "-t", session, "21 * 2", "Enter")
        screen_shows(session, "42")
        tmux("send-keys", "-t", session, "while True: pass", "Enter", "Enter")
        time.sleep(0.5)
        tmux("send-keys", "-t", session, "C-c")
        screen_shows(session, "KeyboardInterrupt")
        pane = screen_shows(session, "B free")  # the bottom toolbar, prompt back
        assert board.port in pane
        # Keys typed while code runs reach the board: input() gets them.
        tmux("send-keys", "-t", session, "name = input('name? ')", "Enter")
        screen_shows(session, "name? ")
        tmux("send-keys", "-t", session, "Ada", "Enter")
        time.sleep(0.3)
        tmux("send-keys", "-t", session, "name.upper()", "Enter")
        screen_shows(session, "'ADA'")
        tmux("send-keys", "-t", session, "C-]")
        deadline = time.monotonic() + 10
        while session in tmux("list-sessions") and time.monotonic() < deadline:
            time.sleep(0.1)
        assert session not in tmux("list-sessions")
    finally:
        tmux("kill-session", "-t", session)
