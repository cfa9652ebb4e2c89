"""Printing: a print button on printable pages; the day list grouped by practitioner, with
its print time and page numbers, 30 consultations on one A4 page."""

from __future__ import annotations

import datetime
import re

import pytest
import time_machine

from tests.appointments import factories as agenda
from tests.e2e.conftest import ARTIFACTS, login
from tests.factories import PASSWORD, make_patient, make_user

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

DAY = agenda.next_weekday(3)


def pdf_pages(pdf: bytes) -> int:
    return len(re.findall(rb"/Type\s*/Page(?!s)", pdf))


def test_the_day_list_prints_30_consultations_on_one_a4_page(page, live_server):
    with time_machine.travel(agenda.at(DAY, 7), tick=True):
        doctors = [
            agenda.practitioner("physician", room_name=f"Cabinet {i}", start=datetime.time(8))
            for i in range(3)
        ]
        for i, doctor in enumerate(doctors):
            for slot in range(10):
                agenda.book(
                    patient=make_patient(last_name=f"Imprime{i}{slot}"),
                    practitioner_user=doctor,
                    room_obj=agenda.room(f"Cabinet {i}"),
                    start=agenda.at(DAY, 8) + datetime.timedelta(minutes=30 * slot),
                )
        secretary = make_user("secretary")
        login(page, live_server, secretary.username, PASSWORD)
        page.goto(f"{live_server.url}/agenda/print/?date={DAY.isoformat()}")
        assert page.get_by_role("button", name="Imprimer").is_visible()
        groups = page.locator(".day-list-group")
        assert groups.count() == 3
        assert groups.first.locator("tbody tr").count() == 10
        assert re.search(r"Imprimé le \d\d/\d\d/\d{4} \d\d:\d\d", page.locator("main").inner_text())

        page.emulate_media(media="print")
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "day-list-print.png"), full_page=True)
        assert not page.get_by_role("button", name="Imprimer").is_visible()
        pdf = page.pdf(format="A4", prefer_css_page_size=True)
        (ARTIFACTS / "day-list.pdf").write_bytes(pdf)
        assert pdf_pages(pdf) == 1


@pytest.mark.parametrize(
    "path", ["/agenda/print/", "/patients/{patient}/rights/", "/agenda/report/"]
)
def test_printable_pages_have_a_print_button(page, live_server, path):
    physician = make_user("physician")
    patient = make_patient()
    login(page, live_server, physician.username, PASSWORD)
    page.goto(f"{live_server.url}{path.format(patient=patient.pk)}")
    assert page.get_by_role("button", name="Imprimer").is_visible()


def test_the_print_time_of_the_certificate_register_shows_on_paper_only(page, live_server):
    coordinator = make_user("coordinator")
    login(page, live_server, coordinator.username, PASSWORD)
    page.goto(f"{live_server.url}/certificates/register/")
    printed = page.get_by_text(re.compile(r"^Imprimé le \d\d/\d\d/\d{4} \d\d:\d\d\.$"))
    assert printed.count() == 1
    assert not printed.is_visible()
    page.emulate_media(media="print")
    assert printed.is_visible()
