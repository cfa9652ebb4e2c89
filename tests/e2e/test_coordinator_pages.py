"""The coordinator's waves page: the leakage warning looks like a warning (not a success),
and deleting a wave asks for a confirmation first."""

from __future__ import annotations

import datetime

import pytest

from bridge.models import MovementWave
from tests.e2e.conftest import ARTIFACTS, login
from tests.factories import PASSWORD, make_user

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

WARNING_BACKGROUND = "rgb(255, 244, 214)"  # --warning-bg


def test_a_leak_warning_is_a_warning_and_a_wave_is_deleted_after_confirming(page, live_server):
    # Waves 15 minutes apart: the bridge.W001 warning shows on the page.
    MovementWave.objects.create(time=datetime.time(10, 0))
    MovementWave.objects.create(time=datetime.time(10, 15))
    coordinator = make_user("coordinator")
    login(page, live_server, coordinator.username, PASSWORD)
    page.goto(f"{live_server.url}/bridge/waves/")
    warning = page.locator(".message-warning").first
    background = warning.evaluate("el => getComputedStyle(el).backgroundColor")
    assert background == WARNING_BACKGROUND

    confirm = page.get_by_role("button", name="Confirmer : supprimer la vague de 10:15")
    assert not confirm.is_visible()  # one click is not enough to delete
    page.locator("details.confirm-delete summary").nth(1).click()
    assert confirm.is_visible()
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "waves-confirm-delete.png"), full_page=True)
    confirm.click()
    page.wait_for_url(f"{live_server.url}/bridge/waves/")
    assert list(MovementWave.objects.values_list("time", flat=True)) == [datetime.time(10, 0)]
