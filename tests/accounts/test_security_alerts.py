"""Changes that hand an account to a new factor or card, made by one person, are told at
once to the account's owner and the coordinators, and recorded: a second-factor reset, an
RPPS number linked, changed or removed. Nothing in the mail but staff accounts."""

from __future__ import annotations

import pytest
from django.core import mail
from django.test import Client
from django.urls import reverse

from tests.factories import make_user
from usmp.audit.models import AccessEvent

pytestmark = pytest.mark.django_db
A = AccessEvent.Action
RPPS = "10101234567"


def _logged_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_a_factor_reset_is_told_to_the_owner_and_every_coordinator(
    django_capture_on_commit_callbacks,
):
    nurse = make_user("nurse", email="infirmiere@usmp-demo.invalid")
    actor = make_user("coordinator", email="coord1@usmp-demo.invalid")
    make_user("coordinator", email="coord2@usmp-demo.invalid")
    make_user("coordinator", email="ancien@usmp-demo.invalid", is_active=False)
    with django_capture_on_commit_callbacks(execute=True):
        response = _logged_in(actor).post(reverse("factors_reset"), {"username": nurse.username})
    assert response.status_code == 302
    assert len(mail.outbox) == 1
    sent = mail.outbox[0]
    assert set(sent.to) == {
        "infirmiere@usmp-demo.invalid",
        "coord1@usmp-demo.invalid",
        "coord2@usmp-demo.invalid",
    }
    assert nurse.username in sent.subject and nurse.username in sent.body
    assert actor.get_full_name() in sent.body
    assert "facteurs" in sent.subject  # in French, whatever the actor's language
    assert AccessEvent.objects.filter(action=A.FACTOR_RESET, actor=actor).count() == 1


def test_a_refused_reset_tells_nobody(django_capture_on_commit_callbacks):
    actor = make_user("coordinator", email="coord1@usmp-demo.invalid")
    with django_capture_on_commit_callbacks(execute=True):
        _logged_in(actor).post(reverse("factors_reset"), {"username": actor.username})
    assert mail.outbox == []


def _admin_form(user, **changes):
    data = {
        "username": user.username,
        "first_name": user.first_name,
        "last_name": user.last_name,
        "email": user.email,
        "is_active": "on",
        "groups": [str(g.pk) for g in user.groups.all()],
        "rpps": user.rpps or "",
    }
    data.update(changes)
    return data


def test_linking_an_rpps_number_in_the_admin_is_recorded_and_told(
    django_capture_on_commit_callbacks,
):
    psychiatrist = make_user("psychiatrist", email="psy@usmp-demo.invalid")
    actor = make_user("coordinator", email="coord1@usmp-demo.invalid")
    url = reverse("admin:accounts_user_change", args=[psychiatrist.pk])
    with django_capture_on_commit_callbacks(execute=True):
        response = _logged_in(actor).post(url, _admin_form(psychiatrist, rpps=RPPS))
    assert response.status_code == 302, response.content.decode()[:2000]
    psychiatrist.refresh_from_db()
    assert psychiatrist.rpps == RPPS
    assert len(mail.outbox) == 1
    sent = mail.outbox[0]
    assert set(sent.to) == {"psy@usmp-demo.invalid", "coord1@usmp-demo.invalid"}
    assert psychiatrist.username in sent.body and "RPPS" in sent.subject
    assert RPPS not in sent.subject + sent.body
    event = AccessEvent.objects.get(action=A.RPPS_LINK)
    assert (event.actor_id, event.object_id) == (actor.pk, f"{psychiatrist.pk} linked")
    assert RPPS not in event.object_id

    # Saved again without touching the number: nothing to tell.
    with django_capture_on_commit_callbacks(execute=True):
        _logged_in(actor).post(url, _admin_form(psychiatrist, first_name="Camille"))
    assert len(mail.outbox) == 1

    # Removed: told too.
    with django_capture_on_commit_callbacks(execute=True):
        _logged_in(actor).post(url, _admin_form(psychiatrist, rpps=""))
    assert len(mail.outbox) == 2
    assert AccessEvent.objects.filter(
        action=A.RPPS_LINK, object_id=f"{psychiatrist.pk} removed"
    ).exists()


def test_an_invalid_admin_form_records_and_tells_nothing(django_capture_on_commit_callbacks):
    psychiatrist = make_user("psychiatrist", email="psy@usmp-demo.invalid")
    actor = make_user("coordinator", email="coord1@usmp-demo.invalid")
    url = reverse("admin:accounts_user_change", args=[psychiatrist.pk])
    with django_capture_on_commit_callbacks(execute=True):
        response = _logged_in(actor).post(url, _admin_form(psychiatrist, rpps=RPPS, username=""))
    assert response.status_code == 200  # the form again, with its errors
    assert mail.outbox == []
    assert not AccessEvent.objects.filter(action=A.RPPS_LINK).exists()
    psychiatrist.refresh_from_db()
    assert psychiatrist.rpps is None
