from django.apps import AppConfig
from django.utils.module_loading import autodiscover_modules
from django.utils.translation import gettext_lazy as _


class AccessConfig(AppConfig):
    name = "usmp.access"
    label = "access"
    verbose_name = _("Access")

    def ready(self) -> None:
        from . import signals  # noqa: F401  (logins, logouts and failed logins)

        # Each app declares its page rules in its own ``rules`` module.
        autodiscover_modules("rules")
