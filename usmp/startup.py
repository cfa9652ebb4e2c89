from django.core import checks
from django.core.exceptions import ImproperlyConfigured

from usmp.checks import SECRETS_TAG


def refuse_to_start_without_secrets() -> None:
    """Gunicorn does not run system checks: run the secrets check ourselves and stop."""
    errors = [m for m in checks.run_checks(tags=[SECRETS_TAG]) if m.is_serious()]
    if errors:
        raise ImproperlyConfigured("; ".join(f"{e.id}: {e.msg} {e.hint or ''}" for e in errors))
