"""The virtual Pyboard: host process, core supervisor, flash image and endpoints."""
