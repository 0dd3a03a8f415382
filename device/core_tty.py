"""The settings of a core's console tty: raw input, cooked output (\\n ->
\\r\\n and nothing else), ^C as the interrupt char for when the firmware
arms ISIG.  Set by the host on each core's pty, and by a template on the
stand-in pty its firmware boots with (core_boot.py), whose settings the
firmware reads once, at boot (fw_console)."""
import termios


def configure(fd: int) -> None:
    a = termios.tcgetattr(fd)
    a[0] = 0  # iflag: no ICRNL, no IXON...
    a[1] = termios.OPOST | termios.ONLCR
    a[2] = termios.CS8 | termios.CREAD | termios.CLOCAL
    a[3] = termios.NOFLSH  # lflag: ISIG is set by the firmware when armed
    a[6][termios.VMIN] = 0
    a[6][termios.VTIME] = 0
    a[6][termios.VINTR] = b"\x03"
    # No other char is special while ISIG is on: ^\ and ^Z are data to a board.
    a[6][termios.VQUIT] = a[6][termios.VSUSP] = b"\x00"
    termios.tcsetattr(fd, termios.TCSANOW, a)
