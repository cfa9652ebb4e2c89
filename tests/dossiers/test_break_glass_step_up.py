"""Opening an emergency access asks for the second factor again when the session's was not
passed within the last minutes (the password alone is not enough)."""

import time

import pytest
from django.test import Client
from django.urls import reverse

from dossiers.models import BreakGlassAccess
from tests.accounts.otp import enrol_totp, totp_code
from tests.factories import PASSWORD, make_patient, make_user
from usmp.accounts.factors import VERIFIED_AT

pytestmark = pytest.mark.django_db


def test_break_the_glass_asks_for_the_second_factor_again():
    psychiatrist = make_user("psychiatrist")
    device = enrol_totp(psychiatrist)
    patient = make_patient()
    client = Client()
    client.force_login(psychiatrist)
    session = client.session
    session[VERIFIED_AT] = time.time() - 3600
    session.save()
    url = reverse(
        "dossiers:break_glass", kwargs={"patient_id": patient.pk, "compartment": "somatic"}
    )
    response = client.get(url)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("second_factor") + "?step_up=1")
    # A password alone does not open it either.
    reason = "Malaise en cellule, antécédents à vérifier d'urgence."
    refused = client.post(url, {"reason": reason, "password": PASSWORD})
    assert refused.status_code == 302
    assert not BreakGlassAccess.objects.exists()

    step = client.get(response["Location"])
    assert step.status_code == 200
    assert step.context["step_up"]
    back = client.post(
        reverse("second_factor"), {"code": totp_code(device), "step_up": "1", "next": url}
    )
    assert back["Location"] == url
    assert client.get(url).status_code == 200
    opened = client.post(url, {"reason": reason, "password": PASSWORD})
    assert opened.status_code == 302
    assert BreakGlassAccess.objects.filter(user=psychiatrist).count() == 1
