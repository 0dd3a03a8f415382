# The board's `sys` module: the core's, with the VCP as stdin/stdout and the
# Pyboard's identity.  stdin/stdout/stderr are bound by fw_main at boot.  The
# core's sys (its stdio are the console's fds) is only read here, at import.
__name__ = "sys"

import sys as _sys
import fw_identity as _identity
from fw_traceback import print_exception

argv = []
byteorder = _sys.byteorder
exit = _sys.exit
implementation = _identity.implementation
maxsize = _sys.maxsize
modules = _sys.modules
path = _sys.path
platform = "pyboard"
version = "3.4.0; MicroPython " + _identity.VERSION
version_info = _sys.version_info
ps1 = ">>> "
ps2 = "... "
stdin = None
stdout = None
stderr = None
del _sys, _identity
