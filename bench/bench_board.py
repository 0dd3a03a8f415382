"""Board benchmarks: prints one JSON object of medians.

Every figure is taken against a board started the way users start it
(`vpyb run --ephemeral`, the installed console script, a separate process)
over its real pty; the fresh board is the pytest plugin's: an in-process
`VirtualBoard(ephemeral=True).start()`.

    python bench/bench_board.py [--runs N]
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import re
import signal
import statistics
import subprocess
import sys
import time

from pathlib import Path

from vpyb.device.board import VirtualBoard
from vpyb.protocol.raw_repl import RawRepl

VPYB = str(Path(sys.executable).with_name("vpyb"))
READY = re.compile(rb"vpyb: PYBv1.1 ready on (\S+)")
RAW_PROMPT = b"raw REPL; CTRL-B to exit\r\n>"


def start_board() -> tuple[subprocess.Popen, str, float]:
    t0 = time.perf_counter()
    proc = subprocess.Popen([VPYB, "run", "--ephemeral"], stdout=subprocess.PIPE)
    m = READY.match(proc.stdout.readline())
    elapsed = time.perf_counter() - t0
    if not m:
        raise SystemExit("the board did not start")
    return proc, m.group(1).decode(), elapsed


def stop_board(proc: subprocess.Popen) -> None:
    proc.send_signal(signal.SIGTERM)
    proc.wait(10)


def rss_kib(pid: int) -> int:
    for line in open(f"/proc/{pid}/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def children(pid: int) -> list[int]:
    out = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True).stdout
    return [int(p) for p in out.split()]


def median_ms(samples: list[float]) -> float:
    return round(statistics.median(samples) * 1000, 3)


def timed_runs(n: int, *mpremote_args: str) -> list[float]:
    """Wall times of `mpremote ARGS`, the way a user runs it."""
    times = []
    for _ in range(n):
        t0 = time.perf_counter()
        subprocess.run([sys.executable, "-m", "mpremote", *mpremote_args], check=True,
                       stdout=subprocess.DEVNULL)
        times.append(time.perf_counter() - t0)
    return times


def fresh_boards(n: int, confine: bool = True, first_exec: bool = False) -> list[float]:
    """VirtualBoard start() to its prompt (or to the end of a first raw REPL
    exec over its pty), as the plugin's fixture does it."""
    times = []
    for _ in range(n + 1):
        board = VirtualBoard(ephemeral=True, confine=confine)
        t0 = time.perf_counter()
        board.start()
        if first_exec:
            with RawRepl(board.port) as repl:
                repl.enter()
                repl.exec_raw("x=1")
        times.append(time.perf_counter() - t0)
        board.stop()
        time.sleep(0.15)  # a test's own time: the next standby starts meanwhile
    return times[1:]  # the first one found no standby ready


def bench(runs: int) -> dict:
    launches = []
    for _ in range(max(3, runs // 10)):
        proc, _, t = start_board()
        launches.append(t)
        stop_board(proc)

    proc, port, _ = start_board()
    try:
        repl = RawRepl(port)
        repl.enter()
        ser = repl.serial

        soft = []
        for _ in range(runs):
            t0 = time.perf_counter()
            ser.write(b"\x04")
            repl.read_until(RAW_PROMPT)
            soft.append(time.perf_counter() - t0)

        hard = []
        for _ in range(max(3, runs // 10)):
            repl.enter()
            t0 = time.perf_counter()
            ser.write(b"import machine\nmachine.reset()\x04")
            repl.read_until(b"information.\r\n>>> ")
            hard.append(time.perf_counter() - t0)
            time.sleep(0.02)  # the next standby starts meanwhile
        repl.enter()

        paste_rt = []
        for _ in range(runs * 4):
            t0 = time.perf_counter()
            repl.exec_raw("x=1")
            paste_rt.append(time.perf_counter() - t0)

        repl.use_raw_paste = False
        classic_rt = []
        for _ in range(runs):
            t0 = time.perf_counter()
            repl.exec_raw("x=1")
            classic_rt.append(time.perf_counter() - t0)
        repl.use_raw_paste = True

        # 16 KB of source (comments: the compiler keeps nothing of them).
        payload = "# " + "x" * 60 + "\n"
        payload = payload * (16384 // len(payload)) + "y = 1\n"
        upload = []
        for _ in range(max(3, runs // 10)):
            t0 = time.perf_counter()
            repl.exec_raw(payload)
            upload.append(time.perf_counter() - t0)

        pids = [proc.pid, *children(proc.pid)]
        rss = {str(p): rss_kib(p) for p in pids}
        repl.close()
        mpremote_exec = timed_runs(max(5, runs // 5), "connect", port, "exec", "pass")
    finally:
        stop_board(proc)

    return {
        "machine": f"{platform.machine()} {os.cpu_count()} cores, Python {platform.python_version()}",
        "runs": runs,
        "launch_to_first_prompt_ms": median_ms(launches),
        "soft_reset_ms": median_ms(soft),
        "hard_reset_ms": median_ms(hard),
        "fresh_board_ms": median_ms(fresh_boards(max(5, runs // 5))),
        "fresh_board_unconfined_ms": median_ms(fresh_boards(max(5, runs // 5), confine=False)),
        "fresh_board_to_first_exec_ms": median_ms(fresh_boards(max(5, runs // 5), first_exec=True)),
        "fresh_board_to_first_exec_unconfined_ms": median_ms(
            fresh_boards(max(5, runs // 5), confine=False, first_exec=True)),
        "raw_paste_exec_round_trip_ms": median_ms(paste_rt),
        "classic_raw_exec_round_trip_ms": median_ms(classic_rt),
        "raw_paste_upload_MB_per_s": round(len(payload) / statistics.median(upload) / 1e6, 3),
        "rss_host_core_standby_MiB": round(sum(rss.values()) / 1024, 1),
        # mpremote's own start-up (no board) against a whole `exec pass`.
        "mpremote_startup_ms": median_ms(timed_runs(max(5, runs // 5), "version")),
        "mpremote_exec_pass_wall_ms": median_ms(mpremote_exec),
    }


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=50)
    print(json.dumps(bench(ap.parse_args().runs), indent=2))


if __name__ == "__main__":
    main()
