# The board's `builtins` module: the core's builtins with the firmware's
# open, input and __import__, filled at boot (fw_imports.make_builtins).
__name__ = "builtins"
