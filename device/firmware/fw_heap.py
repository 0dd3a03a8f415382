# The user's GC heap, read from the core's own allocation table (py/gc.c).
# The firmware lives at the bottom of the core's pool: once it has booted,
# the holes its start-up left are plugged, so the user owns one contiguous
# run of blocks above it, the size of a PYBv1.1's pool.  gc.mem_free(),
# gc.mem_alloc() and micropython.mem_info() report that run only.
import array
import gc
import uctypes
import micropython
from micropython import const

_BLOCK = const(32)  # BYTES_PER_BLOCK on a 64-bit core: 4 words
_FREE = const(0)
_HEAD = const(1)
_TAIL = const(2)
_LINE = const(64)  # blocks per line of the block map, as gc_dump_alloc_table
_QSTR_SPARE = const(256)  # names the user can intern before a qstr pool is allocated
_FILLER = (None,)

_atb = None  # the allocation table: 2 bits per block, 4 blocks a byte
_blocks = 0  # blocks in the core's pool
_pool = 0  # address of the pool's first block
_base = 0  # first block of the user's run
_plugs = None  # objects filling the firmware's holes, kept forever (made at
# full size, on a core the firmware packs: a list growing as it fills would
# leave holes of its own)
_nplugs = 0
_stats = array.array("i", [0] * 6)  # free, used, 1-blocks, 2-blocks, max block, max free
_line = bytearray(11 + _LINE)
_types = None  # addresses of the types the block map names, as _LETTERS
_LETTERS = b"TLDSSAAFBM"
_NTYPES = const(10)
# The core's C stack limit (MP_STATE_THREAD(stack_limit)), set at boot to
# what recursion on a PYBv1.1 reaches: its limit is 15,360 bytes
# (pyboard-facts.md), this 64-bit core's C frames take about twice a 32-bit
# board's (the unix port sizes its own 80,000 by sizeof(void *) / 4), and
# user code starts under ~3 KB of the firmware's frames where the board's C
# REPL takes ~0.5 KB.  So deep recursion fails with RuntimeError, as on the
# board, before it fills the board-sized heap.
_STACK_LIMIT = const(2 * (15360 - 508) + 3072)  # 32,776
_stack_limit = 0


def _area(ctx):
    # The GC area in the core's mp_state_ctx, found by its relations
    # (gc_setup_area), not by a layout's offsets: (word index of its
    # allocation table's address, the table's address and length, pool).
    for i in range(505):
        start, length = _word(ctx, i), _word(ctx, i + 1)
        if length == 0 or _word(ctx, i + 2) != start + length + 1:
            continue
        for j in (i + 3, i + 4):  # after the finaliser table, and the weakref one if present
            if _word(ctx, j + 1) - _word(ctx, j) == length * 4 * _BLOCK:
                return i, start, length, _word(ctx, j)
    raise RuntimeError("GC heap not found in the core's state")


def init(ctx, user_pool):
    # ctx: address of the core's mp_state_ctx.
    global _atb, _blocks, _pool, _base, _types, _stack_limit, _plugs
    _set_word(ctx, 1, _STACK_LIMIT)  # mp_state_thread_t comes first: stack_top, stack_limit
    _stack_limit = _STACK_LIMIT
    _plugs = [None] * 256
    i, start, length, _pool = _area(ctx)
    _atb = uctypes.bytearray_at(start, length)
    _blocks = length * 4
    _types = _type_addresses()
    _reserve_qstrs(ctx, i)
    gc.collect()
    _plug(_blocks - user_pool // _BLOCK)


def adopt_builtins(ctx, core, d):
    # Makes the dict d the core's dict of overridden builtins
    # (MP_STATE_VM(mp_module_builtins_override_dict), which name lookups and
    # `import` consult before the core's own): the word of the core's state
    # pointing at the dict that setting a probe on the core's builtins module
    # went into.  The old dict is then garbage.
    setattr(core, "_vpyb_probe", d)
    end, _, length, pool = _area(ctx)
    top = pool + length * 4 * _BLOCK
    kind = id(dict)
    for i in range(end):
        a = _word(ctx, i)
        if not pool <= a < top or a & (_BLOCK - 1) or _word(a, 0) != kind:
            continue
        table = _word(a, 3)  # mp_obj_dict_t: base, map (flags and used, alloc, table)
        if not pool <= table < top:
            continue
        for k in range(_word(a, 2)):
            if _word(table, 2 * k + 1) == id(d):
                _set_word(ctx, i, id(d))
                return
    raise RuntimeError("the core's override of builtins not found")


def _reserve_qstrs(ctx, mem_at):
    # Names interned from now on go to the last qstr pool; when it is full
    # the core allocates one twice its size, and would do so in the user's
    # heap, for good.  Fill it now so that the next one is the firmware's.
    at = _last_qstr_pool(ctx, mem_at)
    if at < 0:
        return
    probe = _type_addresses  # any object: getattr interns the name it is asked for
    n = 0
    while True:
        pool = _word(ctx, at)
        if _word(pool, 2) - _word(pool, 3) >= _QSTR_SPARE:
            return
        getattr(probe, "_vpyb_%d" % n, None)
        n += 1


def _last_qstr_pool(ctx, end):
    # MP_STATE_VM(last_pool), in mp_state_vm_t before the GC's state: the word
    # pointing into the heap at a qstr_pool_t whose hash or length table
    # follows its qstrs[] (py/qstr.h).
    top = _pool + _blocks * _BLOCK
    for i in range(end):
        a = _word(ctx, i)
        if _pool <= a < top:
            alloc = _word(a, 2)
            if _word(a, 3) <= alloc and _word(a, 4) in (a + 48 + 8 * alloc, a + 40 + 8 * alloc):
                return i
    return -1


def _type_addresses():
    import sys

    def f():
        pass

    kinds = (tuple, list, dict, str, bytes, bytearray, array.array, float, type(f), type(sys))
    return array.array("Q", [id(t) for t in kinds])


def replug():
    # A soft reset: holes the firmware freed in its part are not the user's.
    if _atb is not None:
        _plug(_base, False)


def _plug(floor, grow=True):
    # Fill every free block below `floor` (and, while the firmware's part
    # is being set, below its highest object) with tuples, each exactly one
    # hole's size: gc_alloc takes the lowest run that fits, and a tuple of
    # n items is 2 + n words.  The caller has collected; no collection may
    # move the holes meanwhile.
    global _base, _nplugs
    gc.disable()
    top = floor
    while True:
        if grow:
            top = max(floor, _last_used(_atb, _blocks) + 1)
        hole = _first_free(_atb, top)
        if hole < 0:
            break
        n = _run_length(_atb, hole, top)
        if _nplugs == len(_plugs):
            break  # out of slots: the rest of the holes are the user's to use
        _plugs[_nplugs] = _FILLER * (n * _BLOCK // 8 - 2)
        _nplugs += 1
    gc.enable()
    _base = top


@micropython.viper
def _word(addr: uint, i: int) -> uint:
    # A machine word, as a small int: uctypes would give a long int object,
    # and arithmetic on one allocates.
    p = ptr32(addr)
    return uint(p[2 * i]) | (uint(p[2 * i + 1]) << 32)


@micropython.viper
def _set_word(addr: uint, i: int, v: uint):
    p = ptr32(addr)
    p[2 * i] = v & uint(0xFFFFFFFF)
    p[2 * i + 1] = v >> 32


@micropython.viper
def _last_used(atb: ptr8, n: int) -> int:
    b = n - 1
    while b >= 0 and ((atb[b >> 2] >> ((b & 3) << 1)) & 3) == _FREE:
        b -= 1
    return b


@micropython.viper
def _first_free(atb: ptr8, end: int) -> int:
    b = 0
    while b < end:
        if ((atb[b >> 2] >> ((b & 3) << 1)) & 3) == _FREE:
            return b
        b += 1
    return -1


@micropython.viper
def _run_length(atb: ptr8, b: int, end: int) -> int:
    n = 0
    while b < end and ((atb[b >> 2] >> ((b & 3) << 1)) & 3) == _FREE:
        b += 1
        n += 1
    return n


@micropython.viper
def _count(atb: ptr8, start: int, end: int, out: ptr32):
    # gc_info over blocks [start, end): runs of free blocks and object sizes.
    free = 0
    used = 0
    one = 0
    two = 0
    max_block = 0
    max_free = 0
    run = 0
    size = 0
    b = start
    while b <= end:
        kind = _FREE
        if b < end:
            kind = (atb[b >> 2] >> ((b & 3) << 1)) & 3
        if kind != _TAIL and size > 0:  # an object ended
            if size == 1:
                one += 1
            elif size == 2:
                two += 1
            if size > max_block:
                max_block = size
            size = 0
        if b == end:
            break
        if kind == _FREE:
            free += 1
            run += 1
            if run > max_free:
                max_free = run
        else:
            used += 1
            size += 1
            run = 0
        b += 1
    out[0] = free
    out[1] = used
    out[2] = one
    out[3] = two
    out[4] = max_block
    out[5] = max_free


def available():
    return _atb is not None


def stack_limit():
    return _stack_limit


def free():
    # gc.mem_free() and gc.mem_alloc(): counted into a buffer, as measuring
    # must not allocate (a user compares two readings).
    _count(_atb, _base, _blocks, _stats)
    return _stats[0] * _BLOCK


def used():
    _count(_atb, _base, _blocks, _stats)
    return _stats[1] * _BLOCK


def gc_info():
    # py/gc.c gc_info of the user's heap, as machine.info() prints it: free
    # and used bytes, 1- and 2-block objects, the largest in blocks.
    if _atb is None:
        return gc.mem_free(), gc.mem_alloc(), 0, 0, 0
    _count(_atb, _base, _blocks, _stats)
    s = _stats
    return s[0] * _BLOCK, s[1] * _BLOCK, s[2], s[3], s[4]


def dump_info(write):
    # py/gc.c's gc_dump_info: sizes in bytes, then counts in blocks.
    _count(_atb, _base, _blocks, _stats)
    s = _stats
    write("GC: total: %d, used: %d, free: %d\n" % ((_blocks - _base) * _BLOCK, s[1] * _BLOCK, s[0] * _BLOCK))
    write(" No. of 1-blocks: %d, 2-blocks: %d, max blk sz: %d, max free sz: %d\n" % (s[2], s[3], s[4], s[5]))


def dump_map(write):
    # gc_dump_alloc_table's picture of the user's run, one line per 64
    # blocks, printed from one buffer: allocating here would change the
    # picture while it is drawn.
    write("GC memory layout; from %x:" % (_pool + _base * _BLOCK))
    end = _blocks
    b = _base
    while b < end:
        n = _run_length(_atb, b, end)
        if n >= 2 * _LINE:
            write("\n       (%d lines all free)" % (n // _LINE))
            b += n - n % _LINE
            if b >= end:
                break
        stop = min(end, b + _LINE)
        write(_line, _fill_line(_line, _atb, b, stop, _base, _pool, _types, _LETTERS))
        b = stop
    write("\n")


@micropython.viper
def _fill_line(line: ptr8, atb: ptr8, start: int, stop: int, base: int, pool: uint, types: ptr32,
               letters: ptr8) -> int:
    # "\n%08x: " and a letter per block (py/gc.c's, 'h' for other objects).
    off = (start - base) * _BLOCK
    line[0] = 10
    i = 8
    while i > 0:
        d = off & 15
        line[i] = d + 48 if d < 10 else d + 87
        off >>= 4
        i -= 1
    line[9] = 58
    line[10] = 32
    i = 11
    b = start
    while b < stop:
        kind = (atb[b >> 2] >> ((b & 3) << 1)) & 3
        c = 109  # m: marked, seen only while collecting
        if kind == _FREE:
            c = 46
        elif kind == _TAIL:
            c = 61
        elif kind == _HEAD:
            c = 104
            p = ptr32(pool + b * _BLOCK)
            t = 0
            while t < _NTYPES:
                if types[2 * t] == p[0] and types[2 * t + 1] == p[1]:
                    c = letters[t]
                    break
                t += 1
        line[i] = c
        i += 1
        b += 1
    return i
