"""Role changes that need two people: the IT administrator proposes a clinical role in the
admin, nothing opens until the medical lead confirms; refusals; who may never confirm; the
alerts and the events."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group
from django.core import mail
from django.core.exceptions import ValidationError
from django.test import Client
from django.urls import reverse

from tests.factories import make_user
from usmp.accounts.models import RoleChange
from usmp.accounts.role_changes import medical_lead_first, role_change_decide, role_change_propose
from usmp.accounts.roles import Role
from usmp.audit.models import AccessEvent

pytestmark = pytest.mark.django_db
A = AccessEvent.Action


def _lead(**extra):
    lead = make_user("physician", **extra)
    lead.groups.add(Group.objects.get(name=Role.MEDICAL_LEAD))
    return type(lead).objects.get(pk=lead.pk)


def _admin_form(user, groups):
    return {
        "username": user.username,
        "first_name": user.first_name,
        "last_name": user.last_name,
        "email": "",
        "is_active": "on",
        "groups": [str(Group.objects.get(name=g).pk) for g in groups],
        "date_joined_0": "2026-01-01",
        "date_joined_1": "08:00:00",
    }


def _reads_psychiatric(user) -> bool:
    fresh = type(user).objects.get(pk=user.pk)
    return fresh.has_perm("dossiers.team_psychiatric")


def test_it_admin_proposes_nothing_opens_the_lead_refuses_then_confirms():
    make_user("coordinator", email="coordination@usmp-demo.invalid")
    it_admin = make_user("superuser")
    target = make_user("secretary")
    client = Client()
    client.force_login(it_admin)
    url = reverse("admin:accounts_user_change", args=[target.pk])
    response = client.post(url, _admin_form(target, [Role.SECRETARY, Role.PSYCHIATRIST]))
    assert response.status_code == 302
    change = RoleChange.objects.get(user=target)
    assert (change.role, change.status, change.proposed_by) == (
        Role.PSYCHIATRIST,
        "pending",
        it_admin,
    )
    assert set(target.groups.values_list("name", flat=True)) == {Role.SECRETARY}
    assert not _reads_psychiatric(target)
    assert len(mail.outbox) == 1
    assert "coordination@usmp-demo.invalid" in mail.outbox[0].to
    assert target.username in mail.outbox[0].body

    lead = _lead()
    decider = Client()
    decider.force_login(lead)
    page = decider.get(reverse("role_changes"))
    assert target.username in page.content.decode()
    decide = reverse("role_change_decide", args=[change.pk])
    assert decider.post(decide, {"decision": "refuse", "comment": "Pas prévu."}).status_code == 302
    change.refresh_from_db()
    assert change.status == "refused"
    assert not _reads_psychiatric(target)

    again = role_change_propose(user=target, role=Role.PSYCHIATRIST, acting_user=it_admin)
    assert decider.post(reverse("role_change_decide", args=[again.pk]), {"decision": "confirm"})
    again.refresh_from_db()
    assert (again.status, again.decided_by) == ("confirmed", lead)
    assert _reads_psychiatric(target)
    events = list(
        AccessEvent.objects.filter(action=A.ROLE_CHANGE)
        .order_by("id")
        .values_list("object_type", "actor_id")
    )
    assert events == [
        ("pending", it_admin.pk),
        ("refused", lead.pk),
        ("pending", it_admin.pk),
        ("confirmed", lead.pk),
    ]
    assert len(mail.outbox) == 4


def test_roles_without_patient_access_change_at_once():
    it_admin = make_user("superuser")
    target = make_user("nurse")
    client = Client()
    client.force_login(it_admin)
    url = reverse("admin:accounts_user_change", args=[target.pk])
    assert client.post(url, _admin_form(target, [Role.SECRETARY])).status_code == 302
    # Taking a clinical role away is immediate; a secretary's role needs nobody else.
    assert set(target.groups.values_list("name", flat=True)) == {Role.SECRETARY}
    assert not RoleChange.objects.exists()


def test_the_admin_creates_an_account_without_its_clinical_role():
    it_admin = make_user("superuser")
    client = Client()
    client.force_login(it_admin)
    add = reverse("admin:accounts_user_add")
    response = client.post(
        add,
        {
            "username": "nouveau",
            "password1": "un-mot-de-passe-long",
            "password2": "un-mot-de-passe-long",
            "usable_password": "true",
        },
    )
    assert response.status_code == 302, response.content.decode()[:3000]
    created = type(it_admin).objects.get(username="nouveau")
    assert created.created_by == it_admin
    url = reverse("admin:accounts_user_change", args=[created.pk])
    client.post(url, _admin_form(created, [Role.PSYCHIATRIST]))
    assert not created.groups.exists()
    change = RoleChange.objects.get(user=created)
    # A medical lead who created the account cannot confirm it either.
    lead_creator = _lead()
    created.created_by = lead_creator
    created.save(update_fields=["created_by"])
    with pytest.raises(ValidationError, match="créé"):
        role_change_decide(change=change, acting_user=lead_creator, confirm=True)


def test_who_may_never_confirm():
    lead = _lead()
    other_lead = _lead()
    target = make_user("nurse")
    own = role_change_propose(user=target, role=Role.PSYCHIATRIST, acting_user=lead)
    with pytest.raises(ValidationError, match="propre proposition"):
        role_change_decide(change=own, acting_user=lead, confirm=True)
    for_self = role_change_propose(user=lead, role=Role.PSYCHOLOGIST, acting_user=other_lead)
    with pytest.raises(ValidationError, match="son propre compte"):
        role_change_decide(change=for_self, acting_user=lead, confirm=True)
    it_lead = make_user("superuser")
    it_lead.groups.add(Group.objects.get(name=Role.MEDICAL_LEAD))
    it_lead = type(it_lead).objects.get(pk=it_lead.pk)
    with pytest.raises(ValidationError, match="administrat"):
        role_change_decide(change=own, acting_user=it_lead, confirm=True)
    # Through the page: the IT administrator is refused by the page rule itself.
    client = Client()
    client.force_login(it_lead)
    assert (
        client.post(
            reverse("role_change_decide", args=[own.pk]), {"decision": "confirm"}
        ).status_code
        == 403
    )
    coordinator = Client()
    coordinator.force_login(make_user("coordinator"))
    assert (
        coordinator.post(
            reverse("role_change_decide", args=[own.pk]), {"decision": "confirm"}
        ).status_code
        == 403
    )
    own.refresh_from_db()
    assert own.status == "pending"
    assert not target.groups.filter(name=Role.PSYCHIATRIST).exists()


def test_a_bad_decision_changes_nothing():
    lead = _lead()
    change = role_change_propose(
        user=make_user("nurse"), role=Role.PSYCHIATRIST, acting_user=make_user("superuser")
    )
    client = Client()
    client.force_login(lead)
    for decision in ("", "yes", "CONFIRM"):
        response = client.post(
            reverse("role_change_decide", args=[change.pk]), {"decision": decision}
        )
        assert response.status_code == 302
    assert (
        client.post(
            reverse("role_change_decide", args=[999999]), {"decision": "confirm"}
        ).status_code
        == 404
    )
    change.refresh_from_db()
    assert change.status == "pending"


def test_nobody_edits_a_role_group_in_the_admin():
    client = Client()
    client.force_login(make_user("superuser"))
    group = Group.objects.get(name=Role.SECRETARY)
    url = reverse("admin:auth_group_change", args=[group.pk])
    response = client.post(url, {"name": Role.SECRETARY, "permissions": []})
    assert response.status_code == 403
    assert group.permissions.exists()


def test_the_first_medical_lead_is_named_once():
    physician = make_user("physician")
    medical_lead_first(user=physician)
    assert physician.groups.filter(name=Role.MEDICAL_LEAD).exists()
    with pytest.raises(ValidationError):
        medical_lead_first(user=make_user("psychiatrist"))


def test_the_audit_page_flags_role_changes():
    change = role_change_propose(
        user=make_user("nurse"), role=Role.PSYCHIATRIST, acting_user=make_user("superuser")
    )
    client = Client()
    client.force_login(make_user("coordinator"))
    page = client.get(reverse("oversight:audit_log"), {"flagged_only": "on"})
    rows = [r for r in page.context["page"].rows if r.action == A.ROLE_CHANGE]
    assert len(rows) == 1
    assert "role_change" in rows[0].flags
    assert change.pk
