from django.core import checks
from django.core.exceptions import ImproperlyConfigured

from usmp.checks import SECRETS_TAG


def refuse_to_start_without_secrets() -> None:
    """Gunicorn does not run system checks: run the secrets check ourselves and stop."""
    errors = [m for m in checks.run_checks(tags=[SECRETS_TAG]) if m.is_serious()]
    if errors:
        raise ImproperlyConfigured("; ".join(f"{e.id}: {e.msg} {e.hint or ''}" for e in errors))


def warm() -> int:
    """Ready a fresh worker before its first request: import every view (the URLconf and its
    reverse map), map the bridge's shared admission file, and compile the project's
    templates into the engine's cached loader, so that the first pages a nurse opens after
    a restart cost what the later ones do (measured cold: up to a second). Returns how many templates were compiled. With DEBUG on the templates
    are not cached, so there is nothing to warm but the imports."""
    from pathlib import Path

    from django.conf import settings
    from django.template import engines
    from django.urls import get_resolver

    get_resolver().reverse_dict  # noqa: B018 - imports the views, builds the reverse map
    from bridge import admission

    admission.generation()  # maps the bridge's shared file: a refused one stops the worker
    if settings.DEBUG:
        return 0
    base = Path(settings.BASE_DIR).resolve()
    compiled = 0
    for engine in engines.all():
        for directory in engine.template_dirs:
            root = Path(directory).resolve()
            if not root.is_relative_to(base) or ".venv" in root.parts:
                continue  # the admin's and the libraries' templates: their pages warm them
            for path in sorted(root.rglob("*.html")):
                engine.get_template(path.relative_to(root).as_posix())
                compiled += 1
    return compiled
