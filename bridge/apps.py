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

        # Every worker of the host forgets the clients it remembers when one changes.
        from django.db.models.signals import post_delete, post_save

        from .admission import clients_changed

        for model in (BridgeClient, BridgeDevice):
            uid = f"bridge-admission-{model._meta.label}"
            post_save.connect(clients_changed, sender=model, dispatch_uid=uid)
            post_delete.connect(clients_changed, sender=model, dispatch_uid=uid)
