"""The serial protocol on the host side: raw REPL / raw-paste client and constants."""
