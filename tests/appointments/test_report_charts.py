"""The report's charts are drawn from the report's own numbers, as SVG the strict CSP lets
through (no script, no style attribute), each beside its table; the report as a PDF too."""

from __future__ import annotations

import datetime
import re
from html import unescape

import pytest
from django.urls import reverse
from django.utils import translation

from appointments import charts, reports
from appointments.models import Appointment, Status
from tests.appointments.test_report import october  # noqa: F401 - fixture
from tests.factories import make_user
from usmp.pdf import pdf_text

pytestmark = pytest.mark.django_db

OCTOBER = (datetime.date(2026, 10, 1), datetime.date(2026, 10, 31))


def test_the_month_chart_adds_up_to_the_reports_totals(october):  # noqa: F811
    # September (empty) and October: two columns.
    report = reports.activity_report(datetime.date(2026, 9, 1), OCTOBER[1])
    chart = charts.report_charts(report).months
    assert [c.total for c in chart.columns] == [0, report.totals.total]
    for status, total in (
        (Status.DONE, report.totals.done),
        (Status.NOT_DONE, report.totals.not_done),
        (Status.CANCELLED, report.totals.cancelled),
        (Status.PLANNED, report.totals.planned),
    ):
        assert chart.total(status) == total
    # Heights are proportional to the counts, within the plot.
    october_column = chart.columns[1]
    heights = {s.key: s.height for s in october_column.segments}
    done = next(s for s in october_column.segments if s.key == Status.DONE)
    assert (report.totals.done, report.totals.not_done) == (3, 2)
    assert heights[Status.NOT_DONE] == pytest.approx(heights[Status.DONE] * 2 / 3, abs=0.2)
    assert done.y + done.height == chart.baseline


def test_the_bar_charts_carry_the_reports_numbers(october):  # noqa: F811
    with translation.override("en"):
        report = reports.activity_report(*OCTOBER)
        drawn = charts.report_charts(report)
    assert sorted(v for _l, v in drawn.lost.values) == sorted(report.lost_by_side.values())
    assert drawn.movements.values == report.movement_outcomes
    assert sum(v for _l, v in drawn.delays.values) == report.to_consultation.count == 1
    assert dict(drawn.delays.values)["3\u20137 days"] == 1  # seen four days after receipt
    widths = [b.width for b in drawn.lost.bars]
    assert max(widths) == charts.WIDTH - charts.LABEL_WIDTH - charts.VALUE_WIDTH


def test_the_gridlines_fall_on_round_numbers():
    def ticks(highest):
        return [
            t.value
            for t in charts.month_chart([(datetime.date(2026, 1, 1), {"done": highest})]).ticks
        ]

    assert ticks(0) == [0, 1]
    assert ticks(3) == [0, 1, 2, 3]
    assert ticks(6) == [0, 2, 4, 6]
    assert ticks(130) == [0, 50, 100, 150]


def test_nice_ceilings():
    assert [charts.nice_ceiling(v) for v in (0, 1, 3, 7, 10, 11, 130)] == [1, 1, 5, 10, 10, 20, 200]


def test_the_page_shows_each_chart_with_its_numbers_and_no_inline_style(client, october):  # noqa: F811
    client.force_login(make_user("coordinator"))
    response = client.get(
        reverse("appointments:report"),
        {"first_day": OCTOBER[0].isoformat(), "last_day": OCTOBER[1].isoformat()},
    )
    html = response.content.decode()
    assert html.count('<svg class="chart"') == 1
    assert html.count('<div class="bar-chart"') == 3
    assert " style=" not in html and "<style" not in html and "<script>" not in html
    titles = [unescape(t) for t in re.findall(r"<title>([^<]*)</title>", html)]
    report = reports.activity_report(*OCTOBER)
    # Every drawn number is in a tooltip, and the same number is in the table beside it.
    assert any(t.endswith(f": {report.totals.done}") for t in titles)
    assert f'<td class="num">{report.totals.done}</td>' in html
    # Coordinates are written with a dot whatever the language (French writes 12,5).
    assert not re.search(r'(?:x|y|width|height)="\d+,\d', html)


def test_the_report_is_a_pdf_too(client, october):  # noqa: F811
    client.force_login(make_user("physician"))
    response = client.get(
        reverse("appointments:report_pdf"),
        {"first_day": OCTOBER[0].isoformat(), "last_day": OCTOBER[1].isoformat()},
    )
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    text = pdf_text(response.content)
    assert "Médecine générale" in text
    assert Appointment.objects.count() == 6
    bad = client.get(reverse("appointments:report_pdf"), {"first_day": "2026-13-01"})
    assert bad.status_code == 400
