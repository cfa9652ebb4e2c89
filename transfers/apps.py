from django.apps import AppConfig


class TransfersConfig(AppConfig):
    name = "transfers"
    verbose_name = "Transfers"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from usmp.core.audit import register_audited

        from . import models, rules  # noqa: F401

        for model in (
            models.PartnerUnit,
            models.SentPackage,
            models.ReceivedPackage,
            models.PackageImport,
        ):
            register_audited(model)
