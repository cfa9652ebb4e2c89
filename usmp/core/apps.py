from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CoreConfig(AppConfig):
    name = "usmp.core"
    label = "core"
    verbose_name = _("Core")

    def ready(self) -> None:
        from django.contrib.auth.signals import user_logged_in

        from usmp import checks  # noqa: F401  (registers the system checks)

        from .language import load_choice_at_login

        user_logged_in.connect(load_choice_at_login, dispatch_uid="usmp-language-at-login")
