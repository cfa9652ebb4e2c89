from __future__ import annotations

import os
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from demo.unit import demo_loaded, load_demo


class Command(BaseCommand):
    help = "Load the invented demo unit once (users per persona, ~300 patients). Development only."

    def add_arguments(self, parser):  # type: ignore[no-untyped-def]
        parser.add_argument("--patients", type=int, default=300)
        parser.add_argument("--logins-file", help="Write the demo logins to this file (mode 600).")

    def handle(self, *args, patients: int, logins_file: str | None, **options):  # type: ignore[no-untyped-def]
        if not settings.DEVELOPMENT:
            raise CommandError(
                "Demo data is for development only (USMP_DEVELOPMENT and DEBUG are off)."
            )
        if not 0 <= patients <= 100_000:
            raise CommandError("--patients must be between 0 and 100000.")
        if demo_loaded():
            self.stdout.write("Demo data already loaded.")
            return
        self.stdout.write(f"Loading demo data ({patients} invented patients)...")
        logins = load_demo(patients=patients)
        lines = ["Demo logins (invented unit, development only):"]
        for demo, password in logins:
            role = demo.role or "IT administrator (superuser)"
            lines.append(f"  {demo.username:<15} {password:<14} {role}")
        text = "\n".join(lines) + "\n"
        if logins_file:
            path = Path(logins_file)
            path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                fh.write(text)
        else:
            self.stdout.write(text)
        self.stdout.write(self.style.SUCCESS("Demo data loaded."))
