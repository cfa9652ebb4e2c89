from __future__ import annotations

import os

import pytest


def pytest_collection_modifyitems(config, items):
    """Tests marked slow run only when USMP_SLOW_TESTS=1 (make test stays short)."""
    if os.environ.get("USMP_SLOW_TESTS") == "1":
        return
    skip = pytest.mark.skip(reason="slow: set USMP_SLOW_TESTS=1 to run it")
    for item in items:
        if "slow" in item.keywords:
            item.add_marker(skip)
