from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CertificatesConfig(AppConfig):
    name = "certificates"
    verbose_name = _("Certificates and attestations")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from usmp.core.audit import register_audited

        from . import models, rules  # noqa: F401 - rules register the page rules

        for model in (models.CertificateType, models.CertificateRequest):
            register_audited(model)
