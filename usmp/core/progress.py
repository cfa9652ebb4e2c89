"""A dependency-free progress bar for long management commands."""

from __future__ import annotations

import sys
import time
from typing import TextIO


class Progress:
    def __init__(self, label: str, total: int, stream: TextIO | None = None) -> None:
        self.label, self.total, self.done = label, total, 0
        self.stream = stream or sys.stderr
        self._last = 0.0
        self._interactive = self.stream.isatty()

    def advance(self, n: int = 1) -> None:
        self.done += n
        now = time.monotonic()
        if now - self._last >= 0.2 or self.done >= self.total:
            self._last = now
            self._draw()

    def _draw(self) -> None:
        width = 30
        ratio = self.done / self.total if self.total else 1.0
        bar = "#" * int(width * ratio) + "-" * (width - int(width * ratio))
        line = f"{self.label} [{bar}] {self.done}/{self.total}"
        if self._interactive:
            self.stream.write("\r" + line)
        elif self.done >= self.total:
            self.stream.write(line + "\n")
        self.stream.flush()

    def close(self) -> None:
        self._draw()
        if self._interactive:
            self.stream.write("\n")
            self.stream.flush()
