from __future__ import annotations

from django.conf import settings
from django.core.management.base import BaseCommand

from transfers.keys import own_keys


class Command(BaseCommand):
    help = (
        "Print this unit's public transfer keys and their fingerprint: send them to a partner "
        "unit (e.g. through the hospital's secure health messaging), then read the fingerprint "
        "to them over the phone so that they check what they registered."
    )

    def handle(self, *args, **options):  # type: ignore[no-untyped-def]
        keys = own_keys()
        groups = keys.fingerprint.split(" ")
        self.stdout.write(f"Unit: {settings.USMP_UNIT_NAME}")
        self.stdout.write(f"Encryption key (age, X25519): {keys.recipient}")
        self.stdout.write(f"Signature key (Ed25519, base64): {keys.verify_key}")
        self.stdout.write(f"Fingerprint: {keys.fingerprint}")
        self.stdout.write("To read over the phone, group by group:")
        for n, group in enumerate(groups, 1):
            self.stdout.write(f"  {n}. {' '.join(group)}")
