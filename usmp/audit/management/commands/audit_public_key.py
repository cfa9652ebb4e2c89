from __future__ import annotations

from django.core.management.base import BaseCommand

from usmp.audit import tree


class Command(BaseCommand):
    help = (
        "Print the verifier key of the audit log's checkpoints (C2SP signed-note format, "
        "name+hash+base64 Ed25519 public key): give it to the DPO, an inspector or a witness; "
        "it checks checkpoints and access reports (audit_prove) without any secret."
    )

    def handle(self, *args, **options):  # type: ignore[no-untyped-def]
        self.stdout.write(tree.verifier().vkey)
