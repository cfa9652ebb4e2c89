from __future__ import annotations

import base64
import re

from django.core.management.base import BaseCommand, CommandError

from usmp.audit import chain, sequencer
from usmp.core.progress import Progress


class Command(BaseCommand):
    help = (
        "Verify the audit chain (access events and write history): recompute every link, "
        "name the first broken one; compare with recorded checkpoints and, optionally, with a "
        "head kept outside the database (--expect SEQ:HASH)."
    )

    def add_arguments(self, parser):  # type: ignore[no-untyped-def]
        parser.add_argument("--expect", help="A head printed by audit_checkpoint: SEQ:HASH")
        parser.add_argument(
            "--expect-checkpoint",
            metavar="FILE",
            help="A signed checkpoint printed by audit_checkpoint (the note, in a file)",
        )

    def handle(  # type: ignore[no-untyped-def]
        self, *args, expect: str | None = None, expect_checkpoint: str | None = None, **options
    ):
        note = None
        if expect_checkpoint:
            try:
                with open(expect_checkpoint, encoding="utf-8") as fh:
                    note = _note_in(fh.read(65536))
            except (OSError, UnicodeDecodeError) as exc:
                raise CommandError(f"Cannot read {expect_checkpoint}: {exc}") from None
        expected = None
        if expect:
            match = re.fullmatch(r"(\d+):([0-9a-f]{64})", expect.strip())
            if not match:
                raise CommandError("--expect takes SEQ:HASH as printed by audit_checkpoint.")
            expected = (int(match.group(1)), match.group(2))
        report = chain.verify(
            expect=expected,
            expect_note=note,
            progress=lambda label, total: Progress(label, total, stream=self.stderr._out),
        )
        if not report.ok:
            self.stderr.write(f"First broken link: {report.problems[0]}")
            for problem in report.problems[1:20]:
                self.stderr.write(f"  then: {problem}")
            raise CommandError(f"The audit chain is broken ({len(report.problems)} problem(s)).")
        self.stdout.write(
            self.style.SUCCESS(
                f"Audit chain intact: {report.links} link(s), head {report.head_seq}:{report.head_hash}"
            )
        )
        self.stdout.write(
            self.style.SUCCESS(
                f"Merkle tree intact: {report.tree_size} leaves, root "
                f"{base64.b64encode(report.root).decode()}, {report.checkpoints} signed "
                "checkpoint(s) verified, each consistent with the previous one"
            )
        )
        if report.pending:
            # Committed rows the sequencer has not linked yet (it passes every fraction of a
            # second); those waiting past the bound mean that no sequencer is running.
            self.stdout.write(f"{report.pending} row(s) await their link.")
        waiting = sequencer.status()
        if waiting.overdue:
            self.stderr.write(
                f"WARNING: {waiting.overdue} committed row(s) unsequenced beyond the "
                f"{sequencer.bound():g} s bound: is `manage.py audit_sequencer` running?"
            )


def _note_in(text: str) -> str:
    """The signed note in TEXT: audit_checkpoint's output may start with its SEQ:HASH line."""
    lines = text.splitlines(keepends=True)
    if lines and re.match(r"\d+:[0-9a-f]{64}\s", lines[0]):
        lines = lines[1:]
    return "".join(lines)
