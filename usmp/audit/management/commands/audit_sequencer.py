from __future__ import annotations

import signal
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from usmp.audit import chain, sequencer


class Command(BaseCommand):
    help = (
        "Link committed audit rows into the tamper-evident chain, every "
        f"{sequencer.INTERVAL} s until stopped (SIGTERM or Ctrl-C end it after the pass under "
        "way). Several may run: each pass only tries the chain's lock. --once makes one pass."
    )

    def add_arguments(self, parser):  # type: ignore[no-untyped-def]
        parser.add_argument("--once", action="store_true", help="One pass, then exit.")
        parser.add_argument(
            "--interval", type=float, default=sequencer.INTERVAL, help="Seconds between passes."
        )
        parser.add_argument(
            "--batch", type=int, default=chain.BATCH, help="Rows linked per transaction."
        )

    def handle(self, *args: Any, once: bool, interval: float, batch: int, **options: Any) -> None:
        if interval <= 0 or interval > sequencer.bound():
            raise CommandError(
                f"--interval takes a number of seconds above 0 and at most the bound "
                f"({sequencer.bound()} s, USMP_AUDIT_SEQUENCE_BOUND)."
            )
        if batch < 1:
            raise CommandError("--batch takes a positive number of rows.")
        if once:
            linked = chain.sequence(wait=True, batch=batch)
            self.stdout.write(f"Linked {linked} audit row(s).")
            return
        loop = sequencer.Loop(interval=interval, batch=batch)

        def stop(signum: int, frame: object) -> None:
            loop.stopping.set()

        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)
        self.stdout.write(f"Audit sequencer: a pass every {interval} s (Ctrl-C stops).")
        self.stdout.flush()
        loop.run()
        self.stdout.write(f"Audit sequencer stopped; it linked {loop.linked} row(s).")
