# The board's `io` module: the core's, with the board's open (no fd numbers),
# bound at boot.
__name__ = "io"

from io import BytesIO, IOBase, StringIO

open = None
