from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class DisclosuresConfig(AppConfig):
    name = "disclosures"
    verbose_name = _("Communication of the record")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from usmp.core.audit import register_audited

        from . import models

        register_audited(models.DisclosureRequest)
