# The side channel to the host, where the peripheral models live.
#
# fd 3 carries requests and their replies (an I2C transfer, a UART write...),
# fd 4 carries events from the host (a pin edge, UART bytes, a timer tick).
# A frame is: u16 length (of what follows), kind, sequence number, payload.
# A watcher thread waits on fd 4 and schedules `_run`, so events are handled
# between two bytecodes of whatever runs, like a soft IRQ on the board.
# The fds' files are kept only as their bound methods, and _thread only in
# init: user code reaches this module's globals (a firmware function's
# __globals__), and must not get at the files (closing one, or letting it be
# collected, closes the host's channel) nor at threads.
import micropython
import select
import time
from micropython import const

MAX_PAYLOAD = const(1024)
_POLLIN = const(1)
# Events handled per drain: a source faster than its handlers (a timer whose
# callback outlasts its period) must not keep the board from its input.
_BATCH = const(16)

# Requests (device/side_channel.py has the same numbers).
I2C_SCAN = const(1)
I2C_XFER = const(2)
SPI_XFER = const(3)
UART_WRITE = const(4)
UART_INIT = const(5)
PIN_CHANGED = const(6)  # a notification: no reply
TIMER_SET = const(7)
PROMPT = const(8)  # a notification: the board is at its prompt
SOFT_RESET = const(9)  # a notification: mode, then the input left unread; this core ends

# Events.
EV_PIN = const(1)
EV_UART = const(2)
EV_TIMER = const(3)

_write = None  # fd 3's write
_in = None  # fd 3's readinto
_ev = None  # fd 4's readinto
_hdr = bytearray(4)
_rbuf = bytearray(MAX_PAYLOAD + 4)
_rmv = memoryview(_rbuf)
_ebuf = bytearray(MAX_PAYLOAD + 4)
_emv = memoryview(_ebuf)
_seq = bytearray(1)
_mode = bytearray(1)
_draining = bytearray(1)
_deferred = bytearray(1)  # _run found the heap locked: the watcher's lock is still held
_poll = select.poll()
_lock = None
_starter = []  # until the watcher thread starts: how, and its poll object
handlers = [None, None, None, None]  # by event kind: fn(payload memoryview)


def init(side):
    global _write, _in, _ev, _lock
    import _thread

    _write = side.write
    _in = open(3, "rb").readinto
    _ev = open(4, "rb").readinto
    _lock = _thread.allocate_lock()
    _poll.register(4, _POLLIN)
    # The watcher's poll object is made here, not by the thread whenever it
    # first runs: every core's heap must come out the same.
    watch = select.poll()
    watch.register(4, _POLLIN)
    # A poll object's first ipoll allocates the tuple it yields (extmod/
    # modselect.c): at boot, not in a session's heap.
    for p in (_poll, watch):
        for _ in p.ipoll(0):
            break
    _starter.append((_thread.start_new_thread, watch))


def start():
    # The watcher thread, once: after the board's handover (cores are
    # forked up to there, and a fork keeps only the thread that forks).
    if _starter:
        begin, watch = _starter.pop()
        begin(_watch, (watch,))


def request(kind, head, data=b"", reply=True):
    # Sends head+data; returns the reply payload (a view valid until the next
    # request).  A reply to an earlier request that was interrupted is skipped.
    # Events wait meanwhile: a handler's own request must not cut into this one.
    held = _draining[0]
    _draining[0] = 1
    try:
        return _request(kind, head, data, reply)
    finally:
        _draining[0] = held


def _request(kind, head, data, reply):
    seq = (_seq[0] + 1) & 0xFF
    _seq[0] = seq
    n = len(head) + len(data) + 2
    h = _hdr
    h[0] = n & 0xFF
    h[1] = n >> 8
    h[2] = kind
    h[3] = seq
    _write(h)
    _write(head)
    if data:
        _write(data)
    if not reply:
        return None
    while True:
        _read(_in, _rmv, 3)
        n = _rbuf[0] | _rbuf[1] << 8
        if n > 1:
            _read(_in, _rmv[3:], n - 1)
        if _rbuf[2] == seq:
            return _rmv[3 : n + 2]


def soft_reset(mode, unread):
    # The session is over: the host hands its REPL mode and unread input to
    # the core booted ahead for the next one, and ends this core.
    _mode[0] = mode
    request(SOFT_RESET, _mode, unread, reply=False)


def _read(readinto, mv, n):
    if readinto(mv[:n]) != n:
        raise OSError(5)  # the host went away


def heap_locked():
    # Without allocating (what code running with the heap locked must not do).
    micropython.heap_lock()
    return micropython.heap_unlock() > 0


def drain():
    # Handles every event waiting on fd 4 (main thread only).  The scheduled
    # _run can fire between two bytecodes of a drain already under way: it
    # then leaves the frames to that one.  Nothing is handled while the
    # heap is locked (a hard IRQ's handler, which on a board runs with the
    # scheduler locked, or user code): handling allocates.  The first drain
    # after lets the watcher go on.
    if _draining[0] or heap_locked():
        return
    _draining[0] = 1
    try:
        _drain()
    finally:
        _draining[0] = 0
    if _deferred[0]:
        _deferred[0] = 0
        _lock.release()


def _drain():
    for _ in range(_BATCH):
        for _ in _poll.ipoll(0):
            break
        else:
            return
        _read(_ev, _emv, 3)
        n = _ebuf[0] | _ebuf[1] << 8
        if n > 1:
            _read(_ev, _emv[3:], n - 1)
        h = handlers[_ebuf[2]]
        if h is not None:
            h(_emv[3 : n + 2])


def _run(_):
    if heap_locked():
        _deferred[0] = 1  # the watcher waits for the next drain()
        return
    try:
        drain()
    finally:
        _lock.release()


def _watch(p):
    while True:
        for _ in p.ipoll(-1):
            pass
        _lock.acquire()  # released by _run, once the events are handled
        while True:
            try:
                micropython.schedule(_run, None)
                break
            except RuntimeError:  # the queue is full of user callbacks
                time.sleep_ms(1)


def idle(ms):
    # Waits up to ms milliseconds for an event, and handles what came.
    for _ in _poll.ipoll(ms):
        break
    drain()


def wait_ms(ms):
    # Sleeps while events keep being handled (a sleeping board takes IRQs).
    end = time.ticks_add(time.ticks_ms(), ms)
    while True:
        left = time.ticks_diff(end, time.ticks_ms())
        if left <= 0:
            return
        idle(left)


def wait_us(us):
    if us >= 2000:
        wait_ms(us // 1000)
        us %= 1000
    time.sleep_us(us)
