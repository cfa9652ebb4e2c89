from __future__ import annotations

import os
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from demo.factors import demo_second_factors
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
        path = Path(logins_file) if logins_file else None
        if demo_loaded():
            self.stdout.write("Demo data already loaded.")
            # A demo loaded before second factors existed gets its keys now.
            if path is not None and path.exists():
                text = path.read_text(encoding="utf-8").split(FACTORS_HEADER)[0]
                self._write(path, text + _factors_text())
            return
        self.stdout.write(f"Loading demo data ({patients} invented patients)...")
        logins = load_demo(patients=patients)
        lines = ["Demo logins (invented unit, development only):"]
        for demo, password in logins:
            role = demo.role or "IT administrator (superuser)"
            lines.append(f"  {demo.username:<15} {password:<17} {role}")
        text = "\n".join(lines) + "\n" + _factors_text()
        if path is not None:
            self._write(path, text)
        else:
            self.stdout.write(text)
        self.stdout.write(self.style.SUCCESS("Demo data loaded."))

    @staticmethod
    def _write(path: Path, text: str) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)


FACTORS_HEADER = "Second factor (TOTP application key of each demo account):"


def _factors_text() -> str:
    lines = [FACTORS_HEADER]
    for username, key in demo_second_factors():
        lines.append(f"  {username:<15} {key}")
    lines.append("  Add the key to an authenticator application, or print its current code with")
    lines.append("  .venv/bin/python scripts/totp_code.py <key>")
    return "\n".join(lines) + "\n"
