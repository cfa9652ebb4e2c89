from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class DemoConfig(AppConfig):
    """Invented data for `make run` (the load_demo command). Development only: nothing in the
    product imports it."""

    name = "demo"
    verbose_name = _("Demo data")
