"""Compile locale/*/LC_MESSAGES/*.po into .mo with polib (no system gettext needed)."""

from __future__ import annotations

import sys
from pathlib import Path

import polib

ROOT = Path(__file__).resolve().parent.parent


def main() -> int:
    for po_path in sorted((ROOT / "locale").glob("*/LC_MESSAGES/*.po")):
        mo_path = po_path.with_suffix(".mo")
        if mo_path.exists() and mo_path.stat().st_mtime >= po_path.stat().st_mtime:
            continue
        po = polib.pofile(str(po_path))
        po.save_as_mofile(str(mo_path))
        print(f"compiled {po_path.relative_to(ROOT)} ({po.percent_translated()}% translated)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
