"""Soft reset: latency and CPU, now that every session is a fresh core.

A soft reset hands the board to a spare core booted ahead (device/supervisor.py).
Latency is raw Ctrl-D to the next raw prompt over the board's pty: `ready`
with the spare booted (a user's pace: 0.3 s between resets), `back_to_back`
when the next reset comes as soon as the prompt does (the spare may still be
booting).  CPU is what one soft reset costs the machine in all: the host
process plus every core process it started and reaped (the spare's boot, the
standby forked to replace it, the ended core), from getrusage and the core
templates' /proc counters (they reap the cores).

    python bench/bench_soft_reset.py [--runs N]
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import time

from vpyb.device import standby
from vpyb.device.board import VirtualBoard
from vpyb.protocol.raw_repl import RawRepl

RAW_PROMPT = b"raw REPL; CTRL-B to exit\r\n>"


def cpu_seconds() -> float:
    """CPU of this process, its reaped children, and the core templates with
    every core they forked and reaped (cores are the templates' children)."""
    total = 0.0
    for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN):
        r = resource.getrusage(who)
        total += r.ru_utime + r.ru_stime
    for template in list(standby._standbys._templates.values()):
        fields = open(f"/proc/{template.proc.pid}/stat").read().rsplit(")", 1)[1].split()
        total += sum(int(f) for f in fields[11:15]) / os.sysconf("SC_CLK_TCK")  # utime..cstime
    return total


def soft_resets(repl: RawRepl, n: int, gap: float) -> list[float]:
    times = []
    for _ in range(n):
        time.sleep(gap)
        t0 = time.perf_counter()
        repl.serial.write(b"\x04")
        repl.read_until(RAW_PROMPT)
        times.append(time.perf_counter() - t0)
    return times


def ms(samples: list[float], percentile: int = 50) -> float:
    return round(statistics.quantiles(samples, n=100)[percentile - 1] * 1000, 2)


def bench(runs: int, confine: bool) -> dict:
    with VirtualBoard(ephemeral=True, confine=confine) as board:
        with RawRepl(board.port) as repl:
            repl.enter()
            ready = soft_resets(repl, runs, 0.3)
            back = soft_resets(repl, runs, 0.0)
            time.sleep(1.0)  # the last spare and standby finish booting
            # CPU of soft resets at a user's pace, everything reaped after.
            before = cpu_seconds()
            soft_resets(repl, runs, 0.3)
    time.sleep(0.5)
    cpu = (cpu_seconds() - before) / runs  # the board's stop is in it too: a bound from above
    return {
        "soft_reset_ready_ms": ms(ready), "soft_reset_ready_p95_ms": ms(ready, 95),
        "soft_reset_back_to_back_ms": ms(back), "soft_reset_back_to_back_p95_ms": ms(back, 95),
        "cpu_ms_per_soft_reset": round(cpu * 1000, 1),
    }


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=30)
    runs = ap.parse_args().runs
    print(json.dumps({
        "machine": f"{platform.machine()} {os.cpu_count()} cores, Python {platform.python_version()}",
        "runs": runs,
        "confined": bench(runs, True),
        "unconfined": bench(runs, False),
    }, indent=2))


if __name__ == "__main__":
    main()
