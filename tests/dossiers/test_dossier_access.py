"""Dossier access per persona x compartment x {team, other compartment, break-the-glass
active, expired, nonexistent}, with content present that could leak. Every read leaves
exactly one access event, every denial one too."""

from __future__ import annotations

import uuid

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone

from dossiers.models import Compartment
from tests.dossiers.conftest import open_break_glass, write_entry
from tests.factories import in_a_week, make_user
from usmp.audit.models import AccessEvent

pytestmark = pytest.mark.django_db

SENTINEL = {Compartment.SOMATIC: "SOMATIC-SENTINEL", Compartment.PSYCHIATRIC: "PSY-SENTINEL"}

# persona -> compartments reached as a team member
TEAM = {
    "nurse": {Compartment.SOMATIC},
    "physician": {Compartment.SOMATIC},
    "psychiatrist": {Compartment.PSYCHIATRIC},
    "secretary": set(),
    "coordinator": set(),
    "superuser": set(),
}
CLINICIANS = {"nurse", "physician", "psychiatrist"}


def dossier_url(patient_id, compartment):
    return reverse(
        "dossiers:dossier_detail", kwargs={"patient_id": patient_id, "compartment": compartment}
    )


def events(**filters):
    return AccessEvent.objects.filter(**filters)


@pytest.mark.parametrize("compartment", list(Compartment))
@pytest.mark.parametrize("persona", list(TEAM))
def test_team_access_and_denial(client, psy_patient, persona, compartment):
    user = make_user(persona)
    client.force_login(user)
    before = events(actor=user).count()
    response = client.get(dossier_url(psy_patient.pk, compartment))
    body = response.content.decode()
    if compartment in TEAM[persona]:
        assert response.status_code == 200
        assert SENTINEL[compartment] in body
        outcome = AccessEvent.Outcome.ALLOWED
    else:
        assert response.status_code == 404
        outcome = AccessEvent.Outcome.DENIED
    for other in SENTINEL.values():
        if other != SENTINEL[compartment] or response.status_code != 200:
            assert other not in body
    assert events(actor=user).count() == before + 1
    event = events(actor=user).latest("id")
    assert (event.action, event.outcome, event.patient_id, event.compartment) == (
        AccessEvent.Action.DOSSIER_VIEW,
        outcome,
        psy_patient.pk,
        compartment.value,
    )
    assert event.break_glass is False


@pytest.mark.parametrize("persona", list(TEAM))
def test_patient_page_links_only_reachable_dossiers(client, psy_patient, persona):
    user = make_user(persona)
    client.force_login(user)
    response = client.get(reverse("dossiers:patient_detail", kwargs={"patient_id": psy_patient.pk}))
    if persona in {"coordinator", "superuser"}:
        assert response.status_code == 404
        return
    body = response.content.decode()
    for compartment in Compartment:
        linked = f'href="{dossier_url(psy_patient.pk, compartment)}"' in body
        assert linked is (compartment in TEAM[persona])
        emergency = reverse(
            "dossiers:break_glass",
            kwargs={"patient_id": psy_patient.pk, "compartment": compartment},
        )
        # Emergency access is offered to clinicians for the compartment they lack.
        offered = f'href="{emergency}"' in body
        assert offered is (persona in CLINICIANS and compartment not in TEAM[persona])
    assert "SENTINEL" not in body


@pytest.mark.parametrize("persona", ["nurse", "physician"])
def test_break_glass_active_then_expired(client, psy_patient, persona):
    user = make_user(persona)
    client.force_login(user)
    url = dossier_url(psy_patient.pk, Compartment.PSYCHIATRIC)
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        open_break_glass(user, psy_patient, Compartment.PSYCHIATRIC)
        response = client.get(url)
        assert response.status_code == 200
        body = response.content.decode()
        assert "PSY-SENTINEL" in body
        assert "Accès d'urgence" in body  # the warning banner
        event = events(actor=user, action=AccessEvent.Action.DOSSIER_VIEW).latest("id")
        assert event.break_glass is True
        assert event.outcome == AccessEvent.Outcome.ALLOWED
    with time_machine.travel(start + timezone.timedelta(minutes=59, seconds=59), tick=False):
        client.force_login(user)  # a fresh session: the idle timeout is not what is tested
        assert client.get(url).status_code == 200
    with time_machine.travel(start + timezone.timedelta(minutes=60), tick=False):
        client.force_login(user)
        response = client.get(url)
        assert response.status_code == 404
        assert "PSY-SENTINEL" not in response.content.decode()
        event = events(actor=user).latest("id")
        assert event.outcome == AccessEvent.Outcome.DENIED


def test_break_glass_covers_one_dossier_only(client, psy_patient):
    from tests.factories import make_patient

    other = make_patient(last_name="Autre")
    write_entry(make_user("psychiatrist"), other, Compartment.PSYCHIATRIC, "OTHER-PSY-SENTINEL")
    nurse = make_user("nurse")
    open_break_glass(nurse, psy_patient, Compartment.PSYCHIATRIC)
    client.force_login(nurse)
    assert client.get(dossier_url(other.pk, Compartment.PSYCHIATRIC)).status_code == 404


def test_secretary_and_coordinator_cannot_break_the_glass(client, psy_patient):
    for persona in ("secretary", "coordinator", "superuser"):
        client.force_login(make_user(persona))
        url = reverse(
            "dossiers:break_glass",
            kwargs={"patient_id": psy_patient.pk, "compartment": Compartment.PSYCHIATRIC},
        )
        assert client.get(url).status_code == 404
        assert client.post(url, {"reason": "x" * 30, "password": "x"}).status_code == 404


def test_break_glass_needs_password_and_reason_and_alerts_the_coordinator(
    client, psy_patient, mailoutbox, django_capture_on_commit_callbacks
):
    from tests.factories import PASSWORD

    coordinator = make_user("coordinator", email="coord@usmp-demo.invalid")
    nurse = make_user("nurse")
    client.force_login(nurse)
    url = reverse(
        "dossiers:break_glass",
        kwargs={"patient_id": psy_patient.pk, "compartment": Compartment.PSYCHIATRIC},
    )
    bad = client.post(url, {"reason": "Urgence vitale en cellule", "password": "wrong"})
    assert bad.status_code == 400
    assert "Mot de passe incorrect" in bad.content.decode()
    short = client.post(url, {"reason": "urgent", "password": PASSWORD})
    assert short.status_code == 400
    assert len(mailoutbox) == 0
    with django_capture_on_commit_callbacks(execute=True):
        ok = client.post(url, {"reason": "Urgence vitale en cellule", "password": PASSWORD})
    assert ok.status_code == 302
    assert len(mailoutbox) == 1
    assert mailoutbox[0].to == [coordinator.email]
    # The e-mail names neither the patient nor the reason.
    assert "Compartiment" not in mailoutbox[0].body and "Urgence" not in mailoutbox[0].body
    client.force_login(coordinator)
    listing = client.get(reverse("coordination:break_glass_list")).content.decode()
    assert "Urgence vitale en cellule" in listing
    assert "COMPARTIMENT" not in listing.upper()
    opened = events(actor=nurse, action=AccessEvent.Action.BREAK_GLASS_OPEN).get()
    assert opened.break_glass is True


def test_nonexistent_patient_or_compartment_is_404_and_recorded(client):
    nurse = make_user("nurse")
    client.force_login(nurse)
    for patient_id, compartment in ((uuid.uuid4(), "somatic"), (uuid.uuid4(), "dental")):
        assert client.get(dossier_url(patient_id, compartment)).status_code == 404
    assert events(actor=nurse, outcome=AccessEvent.Outcome.DENIED).count() == 2


def test_per_object_grant_to_a_visiting_specialist(client, psy_patient):
    from dossiers.models import Dossier
    from dossiers.services import dossier_grant, dossier_revoke

    psychiatrist = make_user("psychiatrist")
    visiting = make_user("physician")  # a hepatologist, somatic team elsewhere
    dossier = Dossier.objects.get(patient=psy_patient, compartment=Compartment.PSYCHIATRIC)
    dossier_grant(
        acting_user=psychiatrist, dossier=dossier, grantee=visiting, write=False, until=in_a_week()
    )
    client.force_login(visiting)
    url = dossier_url(psy_patient.pk, Compartment.PSYCHIATRIC)
    response = client.get(url)
    assert response.status_code == 200
    assert "Lecture seule" in response.content.decode()
    create = reverse(
        "dossiers:entry_create",
        kwargs={"patient_id": psy_patient.pk, "compartment": Compartment.PSYCHIATRIC},
    )
    assert client.post(create, {"kind": "observation", "text": "x"}).status_code == 403
    dossier_revoke(acting_user=psychiatrist, dossier=dossier, grantee=visiting)
    assert client.get(url).status_code == 404


def test_only_the_compartment_team_may_grant(psy_patient):
    from django.core.exceptions import PermissionDenied

    from dossiers.models import Dossier
    from dossiers.services import dossier_grant

    dossier = Dossier.objects.get(patient=psy_patient, compartment=Compartment.PSYCHIATRIC)
    with pytest.raises(PermissionDenied):
        dossier_grant(
            acting_user=make_user("nurse"),
            dossier=dossier,
            grantee=make_user("physician"),
            write=True,
            until=in_a_week(),
        )
