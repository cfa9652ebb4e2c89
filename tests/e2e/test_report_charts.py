"""The activity report's charts under the strict CSP: the page loads with no violation
(every securitypolicyviolation event and every "Refused to" console message fails), its
policy still forbids inline script and style, and the four charts draw."""

from __future__ import annotations

import datetime

import pytest

from appointments.models import Status
from tests.appointments import factories as agenda
from tests.bridge.agendas import Consultation, write
from tests.e2e.conftest import ARTIFACTS, login
from tests.factories import PASSWORD, make_patient, make_user

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

DAY = datetime.date(2026, 10, 6)

LISTEN = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", (e) => {
  window.__cspViolations.push(e.violatedDirective + " " + (e.blockedURI || "inline"));
});
"""


def test_the_report_page_keeps_a_strict_csp_and_draws_its_charts(page, live_server):
    creator = make_user("secretary")
    for hour, status in ((9, Status.DONE), (10, Status.NOT_DONE), (11, Status.CANCELLED)):
        row = write(
            Consultation(
                make_patient(),
                agenda.point(),
                agenda.at(DAY, hour),
                agenda.at(DAY, hour) + datetime.timedelta(minutes=20),
                status=status if status == Status.DONE else None,
                active=status == Status.DONE,
            ),
            created_by=creator,
        )
        row.__class__.objects.filter(pk=row.pk).update(status=status, side="penitentiary")
    coordinator = make_user("coordinator")
    console: list[str] = []
    page.on("console", lambda message: console.append(message.text))
    page.add_init_script(LISTEN)
    login(page, live_server, coordinator.username, PASSWORD)
    response = page.goto(
        f"{live_server.url}/agenda/report/?first_day=2026-09-01&last_day=2026-10-31"
    )
    assert response is not None and response.status == 200
    policy = response.headers["content-security-policy"]
    directives = dict(d.strip().split(" ", 1) for d in policy.split(";") if d.strip())
    assert directives["script-src"] == "'self'" and directives["style-src"] == "'self'"
    # Months and care lost (no movement report, no care request: no chart for them).
    assert page.locator("svg.chart").count() == 1
    assert page.locator(".bar-chart").count() == 1
    assert page.locator("svg.chart rect.chart-done").count() == 1
    # The stylesheet colours the bars: a blocked stylesheet would leave them black.
    fill = page.locator("svg.chart rect.chart-done").first.evaluate(
        "(el) => getComputedStyle(el).fill"
    )
    assert fill == "rgb(26, 127, 55)"
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "report-charts.png"), full_page=True)
    violations = page.evaluate("window.__cspViolations")
    refused = [m for m in console if "Content Security Policy" in m or "Refused to" in m]
    assert violations == [] and refused == []
