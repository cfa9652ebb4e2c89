from django.apps import AppConfig
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _


class AccountsConfig(AppConfig):
    name = "usmp.accounts"
    label = "accounts"
    verbose_name = _("Accounts")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from .roles import sync_role_groups

        # Permissions exist only after every app has migrated: sync the groups then.
        post_migrate.connect(sync_role_groups, dispatch_uid="usmp.accounts.sync_role_groups")
