"""The user's heap is a PYBv1.1's (pyboard-facts.md section 2), and the
board reports it as the stm32 port does (py/modmicropython.c, py/gc.c)."""
import re
import subprocess
import sys

from conftest import mpremote

from vpyb.host_tools import heapmap

REAL_TOTAL = 103168  # "GC: total:" on a PYBv1.1
REAL_FREE_AT_PROMPT = 101750  # 103168 total less ~1.4 KB in use at a fresh prompt
BLOCK = 32  # bytes per GC block on the 64-bit core (16 on the board)
# The largest bytearray the heap can hold now (bisected).
LARGEST_ALLOCATION = ("import gc\nlo, hi = 1000, 110000\n"
                      "while hi - lo > 256:\n"
                      "    mid = (lo + hi) // 2\n"
                      "    try:\n        b = bytearray(mid); lo = mid\n"
                      "    except MemoryError:\n        hi = mid\n"
                      "    b = None; gc.collect()\n"
                      "print(lo)")


def test_mem_free_at_a_fresh_prompt_is_the_boards(board):
    out = mpremote(board.port, "exec", "import gc; gc.collect(); print(gc.mem_free())").stdout
    free = int(out)
    assert abs(free - REAL_FREE_AT_PROMPT) <= 0.02 * REAL_FREE_AT_PROMPT, free


def test_allocation_beyond_the_heap_is_a_memory_error(board):
    r = mpremote(board.port, "exec", "b = bytearray(110000)", check=False)
    assert "MemoryError: memory allocation failed, allocating 110000 bytes" in r.stdout + r.stderr
    # The largest block: about 100 KB, as on a board; the firmware's
    # objects lie below the user's heap, not in it.
    largest = int(mpremote(board.port, "exec", LARGEST_ALLOCATION).stdout)
    assert 95000 < largest < REAL_TOTAL, largest


def mem_info(port: str, code: str = "", verbose: bool = False) -> str:
    return mpremote(port, "exec", f"import gc, micropython\n{code}\ngc.collect()\n"
                    f"micropython.mem_info({1 if verbose else ''})").stdout


def test_mem_info_reports_the_users_heap_in_the_stm32_format(board):
    lines = mem_info(board.port).splitlines()
    assert len(lines) == 3, lines  # no "mem:" line: MEM_STATS is off on the stm32 port
    assert re.fullmatch(r"stack: \d+ out of \d+", lines[0]), lines[0]
    total, used, free = map(int, re.fullmatch(r"GC: total: (\d+), used: (\d+), free: (\d+)", lines[1]).groups())
    assert total == REAL_TOTAL and used + free == total
    assert abs(free - REAL_FREE_AT_PROMPT) <= 0.02 * REAL_FREE_AT_PROMPT, free
    counts = re.fullmatch(r" No. of 1-blocks: (\d+), 2-blocks: (\d+), max blk sz: (\d+), max free sz: (\d+)",
                          lines[2])
    one, two, max_block, max_free = map(int, counts.groups())
    assert one >= 1 and max_block >= 1
    assert max_free * BLOCK > 95000  # one run: the firmware costs the user nothing


def test_mem_alloc_and_mem_free_count_the_same_heap_as_mem_info(board):
    out = mpremote(board.port, "exec", "import gc, micropython\ngc.collect()\n"
                   "a, f = gc.mem_alloc(), gc.mem_free()\nmicropython.mem_info()\nprint(a, f)").stdout
    used, free = map(int, re.search(r"used: (\d+), free: (\d+)", out).groups())
    a, f = map(int, out.split()[-2:])
    assert a + f == REAL_TOTAL
    assert abs(a - used) <= 256 and abs(f - free) <= 256  # the two lines of code between them


def test_mem_info_1_prints_the_block_map_and_it_shows_new_objects(board):
    before = heapmap.parse(mem_info(board.port, verbose=True))
    out = mem_info(board.port, "keep = [None] * 2000\nwords = 'abc' * 400", verbose=True)
    assert re.search(r"^GC memory layout; from [0-9a-f]+:$", out, re.M)
    for line in out[out.index("GC memory layout"):].splitlines()[1:]:
        assert re.fullmatch(r"[0-9a-f]{8}: [.hmTLDSAFBM=]+|       \(\d+ lines all free\)", line), line
    after = heapmap.parse(out)
    assert after.blocks == before.blocks == REAL_TOTAL // BLOCK
    assert after.count("L") >= 1  # the list object...
    assert after.count("=") - before.count("=") >= (2000 * 8 + 1200) // BLOCK - 4  # ...its items, the str
    assert after.used - before.used >= 2000 * 8 + 1200


def test_a_soft_reset_gives_the_next_session_the_whole_heap_again(board):
    # Use the firmware's peripherals, define names, fill the heap: none of it
    # may stay behind in the heap of the next session.
    mpremote(board.port, "exec", "import pyb, machine\nleds = [pyb.LED(i) for i in range(1, 5)]\n"
             "p = machine.Pin('X1', machine.Pin.OUT)\ni2c = machine.I2C(1)\nu = pyb.UART(4, 9600)\n"
             "def some_function(argument):\n    return argument\n"
             "junk = [bytearray(100) for _ in range(300)]")
    lines = mem_info(board.port).splitlines()
    free = int(re.search(r"free: (\d+)", lines[1]).group(1))
    max_free = int(re.search(r"max free sz: (\d+)", lines[2]).group(1))
    assert abs(free - REAL_FREE_AT_PROMPT) <= 0.02 * REAL_FREE_AT_PROMPT, free
    assert max_free * BLOCK > 95000, max_free


def test_vpyb_heapmap_draws_the_heap_as_a_png(board, tmp_path):
    out = tmp_path / "heap.png"
    r = subprocess.run([sys.executable, "-m", "vpyb.host_tools.cli", "heapmap", board.port, "-o", str(out),
                        "--scale", "4"], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    assert f"{REAL_TOTAL} B heap" in r.stdout and "T tuple" in r.stdout
    import png

    width, height, rows, _ = png.Reader(filename=str(out)).read()
    assert width == 64 * 4 and height == (REAL_TOTAL // BLOCK // 64 + 1) * 4
    rows = [bytes(r) for r in rows]
    free_colour = bytes(heapmap.KINDS["."][1])
    object_colours = {bytes(c) for k, (_, c) in heapmap.KINDS.items() if k != "."}
    first = rows[0]
    pixels = {first[i:i + 3] for i in range(0, len(first), 3)}
    assert pixels & object_colours  # the heap's first row holds objects
    last = rows[-2]
    assert {last[i:i + 3] for i in range(0, 4 * 3 * 8, 3)} <= {free_colour, bytes(heapmap.GRID)}
