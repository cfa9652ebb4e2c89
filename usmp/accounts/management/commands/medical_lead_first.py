from __future__ import annotations

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from usmp.accounts.models import User
from usmp.accounts.role_changes import medical_lead_first


class Command(BaseCommand):
    help = (
        "Name the unit's first medical lead (who then confirms clinical roles). Refused once "
        "an active medical lead exists."
    )

    def add_arguments(self, parser):  # type: ignore[no-untyped-def]
        parser.add_argument("username")

    def handle(self, *args, username: str, **options):  # type: ignore[no-untyped-def]
        user = User.objects.filter(username=username, is_active=True).first()
        if user is None:
            raise CommandError(f"No active account named {username!r}.")
        try:
            medical_lead_first(user=user)
        except ValidationError as error:
            raise CommandError(" ".join(error.messages)) from None
        self.stdout.write(self.style.SUCCESS(f"{username} is the unit's medical lead."))
