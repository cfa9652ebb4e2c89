"""On a phone held upright a wide table scrolls in its own box, which the keyboard can reach
and scroll (static/js/scroll-boxes.js); on a desk the same box is no tab stop."""

from __future__ import annotations

import pytest

from tests.appointments import factories as agenda
from tests.e2e.conftest import login
from tests.factories import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

BOX = "main .table-scroll"


def test_a_wide_table_scrolls_in_a_box_the_keyboard_reaches(page, live_server):
    doctor = agenda.practitioner("physician")
    login(page, live_server, doctor.username, PASSWORD)
    page.set_viewport_size({"width": 1280, "height": 800})
    page.goto(f"{live_server.url}/agenda/week/")
    box = page.locator(BOX).first
    assert box.get_attribute("tabindex") is None  # nothing scrolls: no tab stop
    page.set_viewport_size({"width": 390, "height": 844})
    page.wait_for_function(
        "selector => document.querySelector(selector).getAttribute('tabindex') === '0'",
        arg=BOX,
    )
    assert page.evaluate("() => document.documentElement.scrollWidth") <= 390
    assert box.get_attribute("role") == "region"
    caption = box.locator("caption").inner_text().strip()
    assert caption and box.get_attribute("aria-label") == caption
    box.focus()
    page.keyboard.press("ArrowRight")
    page.keyboard.press("End")
    page.wait_for_function("selector => document.querySelector(selector).scrollLeft > 0", arg=BOX)
    # Back on a wide screen the box is no longer a tab stop.
    page.set_viewport_size({"width": 1280, "height": 800})
    page.wait_for_function(
        "selector => !document.querySelector(selector).hasAttribute('tabindex')", arg=BOX
    )
