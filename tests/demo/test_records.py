"""The demo unit comes with requests that cross its boundary (make run shows their pages
filled): requests for the record at each stage of the legal clock, certificate requests
(pending, refused, issued) and a partner unit."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from certificates.models import CertificateRequest
from demo.unit import load_demo
from disclosures.models import DisclosureRequest
from transfers.models import PartnerUnit
from usmp.accounts.models import User

pytestmark = pytest.mark.django_db


def _as(username: str) -> Client:
    client = Client()
    client.force_login(User.objects.get(username=username))
    return client


def test_demo_has_requests_certificates_and_a_partner_unit():
    load_demo(patients=60)
    assert DisclosureRequest.objects.count() == 4
    statuses = list(CertificateRequest.objects.values_list("status", flat=True))
    assert sorted(statuses) == sorted(
        [CertificateRequest.Status.PENDING] * 4
        + [CertificateRequest.Status.REFUSED, CertificateRequest.Status.ISSUED]
    )
    assert PartnerUnit.objects.filter(active=True).count() == 1

    register = _as("medecin").get(reverse("disclosures:register"))
    assert register.status_code == 200
    assert register.content.decode().count("Me Dumoulin") == 1
    certificates = _as("coordinatrice").get(reverse("certificates:register"))
    assert certificates.status_code == 200
    assert "Certificat de constatation de blessures" in certificates.content.decode()
    partners = _as("coordinatrice").get(reverse("transfers:partners"))
    assert partners.status_code == 200
    assert "Démo-sur-Loire" in partners.content.decode()
