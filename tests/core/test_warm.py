"""A fresh worker is readied before its first request (usmp.startup.warm, called by
usmp/wsgi.py): every project template compiles, into the engine's cached loader."""

from __future__ import annotations

from pathlib import Path

from django.conf import settings
from django.template import engines
from django.test import override_settings

from usmp.startup import warm


@override_settings(DEBUG=False)
def test_every_project_template_compiles_and_is_cached():
    base = Path(settings.BASE_DIR).resolve()
    project_dirs = {
        Path(d).resolve()
        for engine in engines.all()
        for d in engine.template_dirs
        if Path(d).resolve().is_relative_to(base) and ".venv" not in Path(d).parts
    }
    expected = sum(len(list(d.rglob("*.html"))) for d in project_dirs)
    assert expected > 50
    assert warm() == expected
    loader = engines["django"].engine.template_loaders[0]
    assert type(loader).__name__ == "Loader" and loader.__module__.endswith("cached")
    assert len(loader.get_template_cache) >= expected


def test_with_debug_on_only_the_views_are_imported():
    with override_settings(DEBUG=True):
        assert warm() == 0
