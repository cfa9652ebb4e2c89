from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class DossiersConfig(AppConfig):
    name = "dossiers"
    verbose_name = _("Patients and dossiers")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from usmp.core.audit import register_audited

        from . import checks, models

        checks.register_format_check()

        for model in (
            models.Patient,
            models.Dossier,
            models.Entry,
            models.Document,
            models.BreakGlassAccess,
            models.Consent,
            models.PatientMerge,
            # Per-object grants: who gave whom access to which dossier.
            models.DossierUserObjectPermission,
            models.DossierGroupObjectPermission,
        ):
            register_audited(model)
