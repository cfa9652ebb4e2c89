from __future__ import annotations

import pytest

from tests.faults.cluster import Cluster
from tests.faults.harness import manage


@pytest.fixture(scope="module")
def cluster():
    """A cluster of its own per test module, migrated, stopped and removed at the end."""
    cluster = Cluster()
    try:
        cluster.start()
        cluster.query("CREATE DATABASE faults", database="postgres")
        result = manage(cluster, "migrate", "--noinput", "-v0")
        assert result.returncode == 0, result.stderr
        yield cluster
    finally:
        cluster.stop()
