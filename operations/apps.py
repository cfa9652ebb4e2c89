from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class OperationsConfig(AppConfig):
    """Operators' commands: backups that prove their restore (no models of its own)."""

    name = "operations"
    verbose_name = _("Operations")
