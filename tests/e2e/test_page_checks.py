"""Every page of every persona, checked in Chromium: no serious or critical accessibility
problem (axe-core, "needs review" items included), valid HTML (the Nu Html Checker), no
page wider than a phone's screen, and in French no English left from the product's own
catalogue.

The pages are the authorisation matrix's: each GET address that answers 200 to a persona,
with data that fills it (a consultation of the day, care requests, notes, a document)."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import polib
import pytest
import time_machine
from django.conf import settings
from django.test import Client
from django.urls import reverse

from tests import test_authorization_matrix as matrix
from tests.appointments import factories as agenda
from tests.e2e.conftest import ARTIFACTS
from tests.factories import PERSONAS, make_user
from tests.test_authorization_matrix import MATRIX, TOKEN_URLS

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# The matrix's data that could leak, as a fixture of this module too.
world = matrix.world

ROOT = Path(__file__).resolve().parents[2]
AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"
VNU = ROOT / "node_modules" / "vnu-jar" / "build" / "dist" / "vnu.jar"
LOCALE = ROOT / "locale" / "fr" / "LC_MESSAGES" / "django.po"
SERIOUS = {"serious", "critical"}
# Answers that are not pages (a CSV, a document's bytes, a script).
NOT_HTML = {
    "oversight:audit_export",
    "dossiers:document_download",
    "certificates:pdf",
    "disclosures:mandate",
    "appointments:report_pdf",
    "healthz",
    "otp_webauthn:js-i18n-catalog",
}
# The guards' pages are French whatever the reader chose (bridge/views.py): not scanned for
# French left on English pages.
ALWAYS_FRENCH = {"bridge:movements_print", "bridge:movements_print_enrol"}
DAY = agenda.next_weekday(3)
# Every page also fits a phone held upright: a wide table scrolls in its own box, the page
# does not (a nurse on her rounds with a tablet or a phone).
PHONE = {"width": 390, "height": 844}
NEXT_FRAMES = "() => new Promise(done => requestAnimationFrame(() => requestAnimationFrame(done)))"
DESK = {"width": 1280, "height": 720}
WIDER_THAN_THE_SCREEN = """() => {
  const width = document.documentElement.clientWidth;
  if (document.documentElement.scrollWidth <= width + 1) return null;
  const wide = [];
  for (const element of document.querySelectorAll("body *")) {
    const box = element.getBoundingClientRect();
    const spills = element.scrollWidth > element.clientWidth + 1
      && getComputedStyle(element).overflowX === "visible";
    if (box.width > 0 && (box.right > width + 1 || spills)
        && !element.closest(".table-scroll, .agenda-wide")) {
      wide.push(`${element.tagName.toLowerCase()}.${element.className} (${Math.round(box.right)} px)`);
    }
  }
  return `${document.documentElement.scrollWidth} px: ${wide.slice(0, 3).join(", ")}`;
}"""


def _tool(path: Path, what: str) -> Path:
    if not path.exists():
        message = f"{what} not installed ({path.relative_to(ROOT)}): run `make checks-tools`"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    return path


@pytest.fixture
def site(world):
    """The matrix's data, a consultation of the day for a physician, at 08:00 that day."""
    with time_machine.travel(agenda.at(DAY, 8), tick=True):
        physician = agenda.practitioner("physician")
        agenda.book(patient=world.patient, practitioner_user=physician, start=agenda.at(DAY, 9))
        yield physician


def pages(persona: str, world) -> list[tuple[str, str]]:
    found = []
    made: dict[object, dict] = {}  # one appointment, one request... for all their pages
    for name, row in sorted(MATRIX.items()):
        if row.method != "get" or row.expected[persona] != 200:
            continue
        if name in TOKEN_URLS or name in NOT_HTML or name.endswith("openapi-json"):
            continue
        if row.kwargs not in made:
            made[row.kwargs] = row.kwargs(world)
        found.append((name, reverse(name, kwargs=made[row.kwargs])))
    return found


def _user(persona: str, physician):
    return physician if persona == "physician" else make_user(persona)


def _logged_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


class _Text(HTMLParser):
    """The text a person reads: no script, no style, no attribute but alt, title, labels."""

    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag, attrs):
        if tag in ("script", "style"):
            self._skip += 1
        for key, value in attrs:
            if key in ("alt", "title", "aria-label", "placeholder") and value:
                self.parts.append(value)

    def handle_endtag(self, tag):
        if tag in ("script", "style") and self._skip:
            self._skip -= 1

    def handle_data(self, data):
        if not self._skip:
            self.parts.append(data)


def _french_phrases() -> set[str]:
    """Translations of the catalogue of three words or more: on an English page, French
    text that a template wrote without the catalogue."""
    phrases = set()
    for entry in polib.pofile(str(LOCALE)):
        translated = entry.msgstr and entry.msgstr != entry.msgid
        if translated and "%(" not in entry.msgstr and len(re.findall(r"\w+", entry.msgstr)) >= 3:
            phrases.add(entry.msgstr)
    return phrases


def _text_of(html: str) -> str:
    reader = _Text()
    reader.feed(html)
    return " ".join(" ".join(reader.parts).split())


def _english_phrases() -> set[str]:
    """Msgids of the catalogue translated to something else, of three words or more (shorter
    ones, like "Patient" or "Date", are French too)."""
    phrases = set()
    for entry in polib.pofile(str(LOCALE)):
        msgid = entry.msgid
        translated = entry.msgstr and entry.msgstr != msgid
        if translated and "%(" not in msgid and len(re.findall(r"[A-Za-z]+", msgid)) >= 3:
            phrases.add(msgid)
    return phrases


@pytest.mark.parametrize("persona", PERSONAS)
def test_every_page_is_accessible_valid_and_french(
    browser, live_server, world, site, persona, tmp_path
):
    axe = _tool(AXE, "axe-core").read_text(encoding="utf-8")
    vnu = _tool(VNU, "vnu-jar")
    if shutil.which("java") is None:
        # As for the other tools: under CI a missing checker fails, never skips in silence.
        message = "java not found: the Nu Html Checker needs it"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    user = _user(persona, site)
    client = _logged_in(user)
    english = _english_phrases()
    context = browser.new_context(
        bypass_csp=True, locale="fr-FR", timezone_id="Europe/Paris", viewport=DESK
    )
    context.add_cookies(
        [
            {
                "name": settings.SESSION_COOKIE_NAME,
                "value": client.cookies[settings.SESSION_COOKIE_NAME].value,
                "url": live_server.url,
            }
        ]
    )
    page = context.new_page()
    problems: list[str] = []
    files = []
    listed = pages(persona, world)
    try:
        for name, url in listed:
            response = page.goto(f"{live_server.url}{url}")
            assert response is not None and response.status == 200, (name, url)
            page.add_script_tag(content=axe)
            for screen in (DESK, PHONE):
                # On a phone too: a table that scrolls in its box must be reachable by keyboard.
                page.set_viewport_size(screen)
                # The page's scripts see the new width (resize) before axe looks.
                page.evaluate(NEXT_FRAMES)
                on = "" if screen is DESK else " (phone)"
                results = page.evaluate(
                    "() => axe.run(document, {resultTypes: ['violations', 'incomplete']})"
                )
                for kind in ("violations", "incomplete"):
                    for item in results[kind]:
                        # Cells scrolled out of their box cannot be measured for contrast
                        # ("needs review"); the desk's pass measures the same cells.
                        unmeasured = screen is PHONE and kind == "incomplete"
                        if item["id"] == "color-contrast" and unmeasured:
                            continue
                        if item.get("impact") in SERIOUS:
                            targets = [n["target"] for n in item["nodes"]][:3]
                            problems.append(f"{name}{on}: axe {kind} {item['id']} {targets}")
            wider = page.evaluate(WIDER_THAN_THE_SCREEN)
            if wider:
                problems.append(f"{name}: wider than a phone ({PHONE['width']} px): {wider}")
            page.set_viewport_size(DESK)
            html = client.get(url).content.decode()
            path = tmp_path / f"{name.replace(':', '--')}.html"
            path.write_text(html, encoding="utf-8")
            files.append(path)
            text = _text_of(html)
            for phrase in english:
                if phrase in text:
                    problems.append(f"{name}: English left in French: {phrase!r}")
    finally:
        context.close()
    # The same pages for a user who chose English: no French left outside the catalogue.
    client.post(reverse("set_language"), {"language": "en", "next": "/"})
    french = _french_phrases()
    for name, url in listed:
        if name in ALWAYS_FRENCH:
            continue
        text = _text_of(client.get(url).content.decode())
        for phrase in french:
            if phrase in text:
                problems.append(f"{name}: French left in English: {phrase!r}")
    checked = subprocess.run(
        ["java", "-jar", str(vnu), "--errors-only", "--format", "json", *map(str, files)],
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    for message in json.loads(checked.stderr or '{"messages": []}')["messages"]:
        where = Path(message.get("url", "")).name
        problems.append(f"{where}: html {message.get('message')} [{message.get('extract', '')!r}]")
    if problems:
        unique = sorted(set(problems))
        ARTIFACTS.mkdir(exist_ok=True)
        (ARTIFACTS / f"page-checks-{persona}.txt").write_text("\n".join(unique), encoding="utf-8")
        pytest.fail(f"{len(unique)} problems:\n" + "\n".join(p[:300] for p in unique[:60]))
