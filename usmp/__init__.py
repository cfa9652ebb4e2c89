"""Cloison: the project package (settings, URLs) and the shared kernel."""
