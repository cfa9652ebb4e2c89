"""Every class a template gives an element has a rule in the stylesheets, or is a named hook
(for scripts, tests or a later style) listed here: a state shown by a class alone (a badge,
a print-only line, a message outside the message list) that has no rule is not shown at all.
"""

from __future__ import annotations

import re

from django.conf import settings

ROOT = settings.BASE_DIR
# Classes that name a part of a page for scripts, tests and readers, and need no look of
# their own (their children or a second class carry it).
HOOKS = {
    "agenda-grid", "agenda-toolbar", "agenda-week", "agenda-wide", "booking-layout",
    "chart-column", "confirm-patient", "consents-summary", "dossier-summary",
    "emergency-banner", "entry-actions", "entry-author", "entry-versions", "error-page",
    "field-group", "filters", "leak-warning", "motive", "my-day", "note", "num", "pager",
    "patient-id", "print-header", "recovery-codes", "results", "role-changes", "slot-list",
    "slot-search", "slot-when", "stats", "summary-list", "summary-text", "token", "totp-qr",
    "totp-secret", "treating-warning", "unit-day", "user-name", "webauthn-block",
    # The message list (each message is styled), and the flags' variants (their base
    # class is styled).
    "messages", "flag-after_hours", "flag-role_change", "flag-break_glass",
    "flag-burst", "flag-denied", "flag-no_care_relation",
}  # fmt: skip


def _defined() -> set[str]:
    text = "".join(p.read_text() for p in (ROOT / "static" / "css").glob("*.css"))
    return set(re.findall(r"\.([a-zA-Z][\w-]*)", re.sub(r"/\*.*?\*/", "", text, flags=re.S)))


def _used() -> dict[str, str]:
    used: dict[str, str] = {}
    for path in sorted((ROOT / "templates").rglob("*.html")):
        for match in re.finditer(r'class="((?:\{%.*?%\}|\{\{.*?\}\}|[^"])*)"', path.read_text()):
            value = match.group(1)
            # A class computed in the template ("badge-{{ priority }}") stands for variants
            # whose rules the test cannot name: it is left out.
            value = re.sub(r"\S*\{\{.*?\}\}\S*", " ", value)
            for name in re.sub(r"\{%.*?%\}", " ", value).split():
                used.setdefault(name, str(path.relative_to(ROOT)))
    return used


def test_every_class_a_template_uses_has_a_rule_or_is_a_named_hook():
    defined = _defined()
    unstyled = {name: where for name, where in _used().items() if name not in defined | HOOKS}
    assert not unstyled, f"classes without a rule (style them, or list them as hooks): {unstyled}"


def test_the_hooks_are_still_used():
    assert not HOOKS - set(_used()), sorted(HOOKS - set(_used()))
