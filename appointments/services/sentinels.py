"""The default of an argument that a change leaves as it is, where None is a value of its own
(no practitioner, no expected release date)."""

from __future__ import annotations

import enum
from typing import Literal


class _Unchanged(enum.Enum):
    UNCHANGED = enum.auto()


UNCHANGED = _Unchanged.UNCHANGED
Unchanged = Literal[_Unchanged.UNCHANGED]
