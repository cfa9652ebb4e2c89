from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CryptoConfig(AppConfig):
    name = "usmp.crypto"
    label = "crypto"
    verbose_name = _("Encryption")
    default_auto_field = "django.db.models.BigAutoField"
