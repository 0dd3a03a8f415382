"""The user's heap is a PYBv1.1's (pyboard-facts.md section 2)."""
from conftest import mpremote

REAL_FREE_AT_PROMPT = 101750  # 103168 total less ~1.4 KB in use at a fresh prompt


def test_mem_free_at_a_fresh_prompt_is_the_boards(board):
    out = mpremote(board.port, "exec", "import gc; gc.collect(); print(gc.mem_free())").stdout
    free = int(out)
    assert abs(free - REAL_FREE_AT_PROMPT) <= 0.02 * REAL_FREE_AT_PROMPT, free


def test_allocation_beyond_the_heap_is_a_memory_error(board):
    r = mpremote(board.port, "exec", "b = bytearray(110000)", check=False)
    assert "MemoryError: memory allocation failed, allocating 110000 bytes" in r.stdout + r.stderr
    # The largest block: the firmware's objects leave holes, so it is
    # ~60 KB (a real board's is ~100 KB): see the README's limits.
    probe = ("import gc\nlo, hi = 1000, 110000\n"
             "while hi - lo > 256:\n"
             "    mid = (lo + hi) // 2\n"
             "    try:\n        b = bytearray(mid); lo = mid\n"
             "    except MemoryError:\n        hi = mid\n"
             "    b = None; gc.collect()\n"
             "print(lo)")
    largest = int(mpremote(board.port, "exec", probe).stdout)
    assert 55000 < largest < 103168, largest
