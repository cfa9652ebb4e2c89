from django.apps import AppConfig
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _


class AccountsConfig(AppConfig):
    name = "usmp.accounts"
    label = "accounts"
    verbose_name = _("Accounts")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from django.contrib.auth.models import Group

        from usmp.core.audit import register_audited

        from .models import User
        from .roles import sync_role_groups

        # Role grants are the most sensitive writes of all: audit them, groups included.
        register_audited(
            User,
            m2m_fields={"groups", "user_permissions"},
            exclude={"last_login", "security_stamp"},
        )
        register_audited(Group, m2m_fields={"permissions"})

        from . import signals  # noqa: F401  (failed logins count toward the lockout)

        # Permissions exist only after every app has migrated: sync the groups then.
        post_migrate.connect(sync_role_groups, dispatch_uid="usmp.accounts.sync_role_groups")
