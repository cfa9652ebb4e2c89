"""Agendas, care requests and appointments (issue: consultation agendas)."""
