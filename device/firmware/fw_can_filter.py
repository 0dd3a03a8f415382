# The bxCAN filter banks (ports/stm32/pyb_can.c pyb_can_setfilter, the
# HAL's HAL_CAN_ConfigFilter, RM0090 32.7.4): 28 banks shared by CAN1 (the
# first `start`) and CAN2 (the rest), each two 32-bit registers holding
# one or two 32-bit filters or two or four 16-bit ones, as a mask or a
# list, for FIFO 0 or 1.  match() allocates nothing: a frame is filtered
# when it arrives, maybe in an IRQ.
import array
from micropython import const

_BANKS = const(28)
MASK16 = const(0)
LIST16 = const(1)
MASK32 = const(2)
LIST32 = const(3)
_fr1 = array.array("I", [0] * _BANKS)
_fr2 = array.array("I", [0] * _BANKS)
_scale32 = bytearray(_BANKS)
_is_list = bytearray(_BANKS)
_fifo = bytearray(_BANKS)
_active = bytearray(_BANKS)
start = bytearray((14,))  # can2_start_bank, set by init's num_filter_banks


def banks(can_id):
    # The first and the last + 1 bank of a controller.
    return (0, start[0]) if can_id == 1 else (start[0], _BANKS)


def clear(bank):
    # can_clearfilter: inactive, 16-bit mask, FIFO 0.
    _fr1[bank] = _fr2[bank] = 0
    _scale32[bank] = _is_list[bank] = _fifo[bank] = _active[bank] = 0


def _ext16(i):
    # pyb_can.c EXTENDED_ID_TO_16BIT_FILTER
    return ((i & 0xC00000) >> 13) | ((i & 0x38000) >> 15) | 8


def configure(can_id, bank, mode, fifo, params, rtr, extframe):
    # The registers pyb_can_setfilter has HAL_CAN_ConfigFilter write.
    if mode in (MASK16, LIST16):
        if len(params) != 4:
            raise ValueError("CAN filter parameter error")
        r = [0, 0, 0, 0]
        bit = 0x02 if extframe else 0x10
        if rtr is not None:
            if mode == MASK16:
                r = [bit if rtr[0] else 0, bit, bit if rtr[1] else 0, bit]
            else:
                r = [bit if x else 0 for x in rtr[:4]]
        v = [(_ext16(p) if extframe else p << 5) | r[i] for i, p in enumerate(params)]
        fr1, fr2 = (v[1] & 0xFFFF) << 16 | v[0] & 0xFFFF, (v[3] & 0xFFFF) << 16 | v[2] & 0xFFFF
    elif mode in (MASK32, LIST32):
        if len(params) != 2:
            raise ValueError("CAN filter parameter error")
        r = [0, 0]
        if rtr is not None:
            r = [2 if rtr[0] else 0, 2] if mode == MASK32 else [2 if rtr[0] else 0, 2 if rtr[1] else 0]
        fr1 = (params[0] << 3 | 4 | r[0]) & 0xFFFFFFFF
        fr2 = (params[1] << 3 | 4 | r[1]) & 0xFFFFFFFF
    else:
        raise ValueError("CAN filter parameter error")
    lo, hi = banks(can_id)
    n = lo + bank
    if n >= hi:
        raise ValueError("CAN filter parameter error")
    _fr1[n] = fr1
    _fr2[n] = fr2
    _scale32[n] = mode >= MASK32
    _is_list[n] = mode & 1
    _fifo[n] = fifo
    _active[n] = 1


def match(can_id, ident, ide, rtr):
    # fifo << 8 | the filter match index the hardware gives a frame, or
    # -1: 32-bit banks before 16-bit, lists before masks, then the lower
    # filter number; numbers count every bank of the FIFO, active or not.
    w32 = (ident << 3 | 4 if ide else ident << 21) | (2 if rtr else 0)
    w16 = ((ident >> 18 if ide else ident) << 5 | (16 if rtr else 0) | (8 if ide else 0)
           | (ident >> 15 & 7 if ide else 0))
    numbers0 = numbers1 = 0
    best = -1
    best_rank = 99
    lo = 0 if can_id == 1 else start[0]
    hi = start[0] if can_id == 1 else _BANKS
    for b in range(lo, hi):
        count = (2 if _is_list[b] else 1) if _scale32[b] else (4 if _is_list[b] else 2)
        first = numbers1 if _fifo[b] else numbers0
        if _fifo[b]:
            numbers1 += count
        else:
            numbers0 += count
        if not _active[b]:
            continue
        rank = (0 if _scale32[b] else 2) + (0 if _is_list[b] else 1)
        if rank >= best_rank:
            continue
        hit = _hit(b, w32, w16)
        if hit >= 0:
            best_rank = rank
            best = _fifo[b] << 8 | first + hit
    return best


def _hit(b, w32, w16):
    # The index of the bank's filter that passes the frame, or -1.
    fr1 = _fr1[b]
    fr2 = _fr2[b]
    if _scale32[b]:
        if _is_list[b]:
            return 0 if w32 == fr1 else 1 if w32 == fr2 else -1
        return 0 if (w32 ^ fr1) & fr2 == 0 else -1
    if _is_list[b]:
        if w16 == fr1 & 0xFFFF:
            return 0
        if w16 == fr1 >> 16:
            return 1
        if w16 == fr2 & 0xFFFF:
            return 2
        return 3 if w16 == fr2 >> 16 else -1
    if (w16 ^ fr1) & (fr1 >> 16) & 0xFFFF == 0:
        return 0
    if (w16 ^ fr2) & (fr2 >> 16) & 0xFFFF == 0:
        return 1
    return -1
