"""Host tools: the vpyb CLI, console, pytest plugin and port discovery."""
