from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class BridgeConfig(AppConfig):
    name = "bridge"
    verbose_name = _("Prison administration bridge")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from usmp.core.audit import register_audited

        from . import checks  # noqa: F401 - registers the leakage lint
        from .models import BridgeClient, BridgeDevice, MovementWave

        # Write history of the clients, waves and workstations; no credential hash in a diff.
        register_audited(BridgeClient, exclude={"token_hash"})
        register_audited(MovementWave)
        register_audited(BridgeDevice, exclude={"credential_hash"})
