# An empty module.  fw_modules imports it once per built-in module the board
# offers, each import a fresh module object to fill with that module's names.
