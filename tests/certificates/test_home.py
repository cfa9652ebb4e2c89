"""A signer finds the certificate requests waiting for them on their home page: only the
types one of their roles signs, oldest first, with one list event; nobody else sees it."""

from __future__ import annotations

import datetime

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from certificates.models import CertificateType
from certificates.services import certificate_refuse, certificate_request_record
from tests.factories import make_patient, make_user
from usmp.audit.models import AccessEvent

from .conftest import request_for

pytestmark = pytest.mark.django_db


def _dentist():
    from django.contrib.auth.models import Group

    from usmp.accounts.roles import Role

    dentist = make_user("nurse")
    dentist.groups.set([Group.objects.get(name=Role.DENTIST)])
    return type(dentist).objects.get(pk=dentist.pk)


def _home(user) -> str:
    client = Client()
    client.force_login(user)
    response = client.get(reverse("home"))
    assert response.status_code == 200
    return response.content.decode()


def test_a_signer_sees_the_requests_they_may_sign_and_nobody_else_does():
    physician, psychiatrist = make_user("physician"), make_user("psychiatrist")
    dentist = _dentist()
    injuries = request_for(make_patient(last_name="Blesse"), "blessures")
    showers = request_for(make_patient(last_name="Douche"), "douches")
    decided = request_for(make_patient(last_name="Refuse"), "blessures")
    certificate_refuse(acting_user=physician, request=decided, reason="improper")

    page = _home(physician)
    assert "Certificats à décider" in page
    assert "BLESSE" in page.upper() and "DOUCHE" in page.upper()
    assert "REFUSE" not in page.upper()
    assert (
        reverse(
            "certificates:request_detail",
            kwargs={"patient_id": injuries.patient_id, "request_id": injuries.pk},
        )
        in page
    )
    # The dentist signs injuries but not showers; the psychiatrist neither.
    page = _home(dentist)
    assert "BLESSE" in page.upper() and "DOUCHE" not in page.upper()
    assert "Certificats à décider" not in _home(psychiatrist)
    for persona in ("secretary", "nurse", "coordinator"):
        assert "Certificats à décider" not in _home(make_user(persona))
    events = AccessEvent.objects.filter(action="list_view", object_type="certificates")
    assert set(events.values_list("actor_id", flat=True)) == {physician.pk, dentist.pk}
    assert showers.patient_id not in set(events.values_list("patient_id", flat=True))


def test_oldest_first_and_a_fixed_number_of_queries(django_assert_max_num_queries):
    from certificates.access import access_pending_requests
    from usmp.access.viewer import Viewer

    physician = make_user("physician")
    secretary = make_user("secretary")
    kind = CertificateType.objects.get(code="blessures")
    today = timezone.localdate()

    def add(days_ago: int) -> None:
        certificate_request_record(
            acting_user=secretary,
            patient=make_patient(),
            certificate_type=kind,
            requester="patient",
            received_on=today - datetime.timedelta(days=days_ago),
        )

    add(1)
    viewer = Viewer.system(physician)
    with django_assert_max_num_queries(8) as few:
        access_pending_requests(viewer=viewer)
    for days_ago in (5, 3, 9, 2):
        add(days_ago)
    with django_assert_max_num_queries(len(few.captured_queries)):
        lines = access_pending_requests(viewer=viewer)
    received = [line.received_on for line in lines]
    assert received == sorted(received) and len(received) == 5
