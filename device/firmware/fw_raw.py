# The raw REPL and its raw-paste flow control (shared/runtime/pyexec.c,
# protocol-facts.md sections 3-4).  The source goes into a buffer outside
# the user's heap, as the board's stdin buffer is outside its heap.
import micropython
from micropython import const
import fw_exec

SOFT_RESET = const(1)
TO_FRIENDLY = const(2)

_BANNER_PROMPT = b"raw REPL; CTRL-B to exit\n>"  # the tty adds the \r
_WINDOW = const(128)  # stm32: 256-byte stdin buffer, window = half


@micropython.viper
def _copy_plain(dst, dpos: int, src, n: int, limit: int) -> int:
    # Copies src[0:n] to dst[dpos:] up to the first Ctrl-C/Ctrl-D; returns
    # the number of bytes copied.  Stops early at the buffer limit.
    d = ptr8(dst)
    s = ptr8(src)
    i = 0
    while i < n:
        c = s[i]
        if c == 3 or c == 4:
            return i
        if dpos + i >= limit:
            return i
        d[dpos + i] = c
        i += 1
    return i


def raw_repl(board):
    # Every run writes the next ">" itself (fw_exec.run), with its output's end.
    con = board.con
    buf = board.code_buf
    con.write(_BANNER_PROMPT)
    while True:
        n = 0
        while True:
            c = con.getc()
            if c == 1:
                if n == 2 and buf[0] == 5:
                    if _raw_paste(board, buf[1]) == fw_exec.FORCED_EXIT:
                        return SOFT_RESET
                    n = 0
                    continue
                con.write(_BANNER_PROMPT)
                n = 0
            elif c == 2:
                con.write(b"\n")
                return TO_FRIENDLY
            elif c == 3:
                n = 0
            elif c == 4:
                break
            elif n < len(buf):
                buf[n] = c
                n += 1
        con.write(b"OK")
        if n == 0:
            con.write(b"\n")
            return SOFT_RESET
        if fw_exec.run(con, fw_exec.exec_buffer, memoryview(buf)[:n], board.g, True):
            return SOFT_RESET


def _raw_paste(board, cmd):
    con = board.con
    if cmd != 65:  # 'A'
        con.write(b"R\x00>")  # not supported, and the raw prompt again
        return fw_exec.NORMAL
    con.write(b"R\x01\x80\x00\x01")  # yes, window 128 LE, then one more window free
    buf = board.code_buf
    limit = len(buf)
    n = 0
    granted = 0  # windows re-granted so far, one per _WINDOW bytes consumed
    while True:
        chunk = con.take(4096)
        k = len(chunk)
        m = _copy_plain(buf, n, chunk, k, limit)
        n += m
        stop = chunk[m] if m < k else -1
        if stop == 3 or stop == 4:
            con.unget(k - m - 1)
        elif m < k:
            # Source larger than the buffer: end early like a compile error.
            con.write(b"\x04")
            _discard_until_end(con)
            return fw_exec.run(con, _raise_memory_error, None, board.g, True)
        acks = n // _WINDOW - granted
        if acks > 0:
            con.write(b"\x01" * acks)
            granted += acks
        if stop == 4:
            con.write(b"\x04")
            return fw_exec.run(con, fw_exec.exec_buffer, memoryview(buf)[:n], board.g, True)
        if stop == 3:
            con.write(b"\x04")
            return fw_exec.run(con, _raise_interrupt, None, board.g, True)


def _discard_until_end(con):
    while True:
        c = con.getc()
        if c == 3 or c == 4:
            return


@micropython.native
def _raise_interrupt(con, arg, g):
    raise KeyboardInterrupt()


@micropython.native
def _raise_memory_error(con, arg, g):
    raise MemoryError("raw-paste source larger than the stdin buffer")
