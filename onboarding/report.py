"""The reconciliation report of an import, in the user's language (French by default):
counts, then every duplicate and refused line with its file, line number, column and
reason. It names no patient: only line numbers and reasons."""

from __future__ import annotations

from django.utils import formats, timezone
from django.utils.translation import gettext as _

from .lines import DUPLICATE, REFUSED
from .services import TableReport


def _kind(kind: str) -> str:
    return _("patients") if kind == "patients" else _("appointments")


def _where(report: TableReport) -> str:
    if report.sheet:
        return _("%(name)s, sheet %(sheet)s") % {"name": report.filename, "sheet": report.sheet}
    return report.filename


def render(reports: list[TableReport]) -> str:
    out: list[str] = []
    for report in reports:
        where = _where(report)
        title = _("Import of %(where)s (%(kind)s)") % {"where": where, "kind": _kind(report.kind)}
        if report.dry_run:
            title += " — " + _("dry run: nothing was written")
        out.append(title)
        if report.already_done_at is not None:
            when = formats.date_format(
                timezone.localtime(report.already_done_at), "DATETIME_FORMAT"
            )
            out.append(
                "  "
                + _("This file was imported already (%(when)s): nothing changed. Its report:")
                % {"when": when}
            )
        elif report.resumed_from:
            out.append(
                "  "
                + _("Resumed after the %(count)d lines an interrupted run had done.")
                % {"count": report.resumed_from}
            )
        verb = _("would be created") if report.dry_run else _("created")
        out.append("  " + _("Lines read: %(count)d") % {"count": report.read})
        out.append(
            "  " + _("Accepted (%(verb)s): %(count)d") % {"verb": verb, "count": report.accepted}
        )
        out.append("  " + _("Duplicates (not imported): %(count)d") % {"count": report.duplicates})
        out.append("  " + _("Refused: %(count)d") % {"count": report.refused})
        for status, heading in ((DUPLICATE, _("Duplicates:")), (REFUSED, _("Refused lines:"))):
            lines = [(n, o) for n, o in report.lines if o.status == status]
            if not lines:
                continue
            out.append("  " + heading)
            for number, outcome in lines:
                if outcome.column:
                    place = _("%(file)s line %(line)d, column %(column)s") % {
                        "file": report.filename,
                        "line": number,
                        "column": outcome.column,
                    }
                else:
                    place = _("%(file)s line %(line)d") % {"file": report.filename, "line": number}
                out.append(f"    {place}: {outcome.message}")
        listed = len(report.lines)
        if listed < report.duplicates + report.refused:
            out.append(
                "  "
                + _("…and %(count)d more lines not listed one by one.")
                % {"count": report.duplicates + report.refused - listed}
            )
    return "\n".join(out) + "\n"
