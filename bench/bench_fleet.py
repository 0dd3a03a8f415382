"""Fleet benchmarks for CI use: a fresh board per test (the pytest plugin's
way), exec round trips with 16 boards busy at once, memory per board.
Prints one JSON object of medians.

    python bench/bench_fleet.py [--boards 16] [--trips 1000] [--fresh 30]
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import threading
import time

from bench_board import children, median_ms, rss_kib, start_board, stop_board

from vpyb.device.board import VirtualBoard
from vpyb.protocol.raw_repl import RawRepl


def fresh_boards(n: int) -> dict:
    """What the `board` fixture costs: a new ephemeral board up to its
    prompt, then to the first exec's answer, then stopped."""
    to_prompt, to_answer, teardown = [], [], []
    for _ in range(n):
        t0 = time.perf_counter()
        board = VirtualBoard(ephemeral=True, log=lambda msg: None).start()
        t1 = time.perf_counter()
        with RawRepl(board.port) as repl:
            repl.enter()
            repl.exec("pass")
            t2 = time.perf_counter()
        board.stop()
        t3 = time.perf_counter()
        to_prompt.append(t1 - t0)
        to_answer.append(t2 - t0)
        teardown.append(t3 - t2)
    return {"fresh_board_to_prompt_ms": median_ms(to_prompt),
            "fresh_board_to_first_exec_ms": median_ms(to_answer),
            "fresh_board_stop_ms": median_ms(teardown)}


def loaded_round_trips(boards: int, trips: int) -> dict:
    started = [start_board() for _ in range(boards)]
    samples: list[list[float]] = [[] for _ in started]
    try:
        def drive(index: int, port: str) -> None:
            with RawRepl(port) as repl:
                repl.enter()
                for i in range(trips):
                    t0 = time.perf_counter()
                    repl.exec(f"print({i}*{i})")
                    samples[index].append(time.perf_counter() - t0)

        threads = [threading.Thread(target=drive, args=(n, port))
                   for n, (_, port, _) in enumerate(started)]
        t0 = time.perf_counter()
        for th in threads:
            th.start()
        for th in threads:
            th.join()
        wall = time.perf_counter() - t0
        rss = []
        for proc, _, _ in started:
            rss.append(sum(rss_kib(p) for p in (proc.pid, *children(proc.pid))))
    finally:
        for proc, _, _ in started:
            stop_board(proc)
    every = sorted(s for board in samples for s in board)
    return {
        "boards": boards,
        "round_trips_per_board": trips,
        "loaded_round_trip_median_ms": median_ms(every),
        "loaded_round_trip_p95_ms": round(every[int(len(every) * 0.95)] * 1000, 3),
        "loaded_round_trips_per_s": round(len(every) / wall),
        "rss_per_board_MiB": round(statistics.median(rss) / 1024, 1),
    }


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--boards", type=int, default=16)
    ap.add_argument("--trips", type=int, default=1000)
    ap.add_argument("--fresh", type=int, default=30)
    args = ap.parse_args()
    result = {"machine": f"{platform.machine()} {os.cpu_count()} cores, "
                         f"Python {platform.python_version()}"}
    result.update(fresh_boards(args.fresh))
    result.update(loaded_round_trips(args.boards, args.trips))
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
