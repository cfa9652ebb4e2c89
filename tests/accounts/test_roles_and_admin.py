"""Roles as groups; the IT administrator reaches no clinical or identifying data."""

import pytest
from django.contrib import admin
from django.contrib.auth.models import Group
from django.urls import reverse

from tests.factories import PASSWORD, make_patient, make_user
from usmp.accounts.roles import ROLE_PERMISSIONS, Role

pytestmark = pytest.mark.django_db

# Clinical and identifying models, keys, and the audit trails (which list patients).
PROTECTED = {"dossiers", "appointments", "bridge", "crypto", "audit", "auditlog"}


def test_every_role_exists_with_exactly_its_permissions():
    for role, perms in ROLE_PERMISSIONS.items():
        group = Group.objects.get(name=role)
        actual = {f"{p.content_type.app_label}.{p.codename}" for p in group.permissions.all()}
        assert actual == set(perms)
    assert set(Group.objects.values_list("name", flat=True)) >= set(Role.values)


def test_admin_registers_no_clinical_or_identifying_model():
    registered = {model._meta.app_label for model in admin.site._registry}
    assert not registered & PROTECTED


def test_superuser_holds_no_patient_permission():
    root = make_user("superuser")
    assert not root.has_perm("dossiers.view_patient")
    assert not root.has_module_perms("dossiers")
    assert root.has_perm("accounts.change_user")  # still runs the system


def test_superuser_finds_no_patient_in_the_admin(client):
    make_patient(last_name="Invisible")
    root = make_user("superuser")
    client.force_login(root)
    index = client.get(reverse("admin:index")).content.decode()
    assert "Patient" not in index and "patient" not in index
    assert "INVISIBLE" not in index.upper()


def test_coordinator_manages_accounts_but_cannot_grant_superuser(client):
    coordinator = make_user("coordinator")
    nurse = make_user("nurse")
    client.force_login(coordinator)
    url = reverse("admin:accounts_user_change", args=[nurse.pk])
    page = client.get(url)
    assert page.status_code == 200
    assert 'name="is_superuser"' not in page.content.decode()
    assert 'name="user_permissions"' not in page.content.decode()


def test_users_cannot_be_deleted_in_the_admin(client):
    client.force_login(make_user("superuser"))
    nurse = make_user("nurse")
    assert client.get(reverse("admin:accounts_user_delete", args=[nurse.pk])).status_code == 403


def test_login_with_the_form_in_french(client):
    user = make_user("nurse")
    bad = client.post(reverse("login"), {"username": user.username, "password": "wrong"})
    assert bad.status_code == 200
    assert "Saisissez un nom d" in bad.content.decode()
    response = client.post(reverse("login"), {"username": user.username, "password": PASSWORD})
    assert response.status_code == 302


def test_inactive_user_has_no_permission():
    nurse = make_user("nurse", is_active=False)
    assert not nurse.has_perm("dossiers.view_patient")


def test_superuser_in_a_clinical_group_still_reaches_no_patient(client):
    root = make_user("superuser")
    root.groups.add(Group.objects.get(name=Role.NURSE))
    patient = make_patient()
    client.force_login(root)
    assert not root.has_perm("dossiers.view_patient")
    url = reverse("dossiers:patient_detail", kwargs={"patient_id": patient.pk})
    assert client.get(url).status_code == 404


def test_nobody_edits_their_own_roles(client):
    coordinator = make_user("coordinator")
    client.force_login(coordinator)
    page = client.get(reverse("admin:accounts_user_change", args=[coordinator.pk]))
    assert page.status_code == 200
    assert 'name="groups"' not in page.content.decode()


def test_role_grants_are_audited_with_their_actor(client):
    from auditlog.models import LogEntry

    coordinator = make_user("coordinator")
    nurse = make_user("nurse")
    client.force_login(coordinator)
    url = reverse("admin:accounts_user_change", args=[nurse.pk])
    physician_group = Group.objects.get(name=Role.PHYSICIAN)
    form = {
        "username": nurse.username,
        "first_name": nurse.first_name,
        "last_name": nurse.last_name,
        "email": "",
        "is_active": "on",
        "groups": [str(physician_group.pk)],
        "date_joined_0": "2026-01-01",
        "date_joined_1": "08:00:00",
    }
    response = client.post(url, form)
    assert response.status_code == 302, response.content.decode()[:2000]
    entries = LogEntry.objects.get_for_object(nurse).filter(actor=coordinator)
    assert any("groups" in (e.changes_dict or {}) for e in entries)
    assert all("password" not in (e.changes_dict or {}) for e in entries)
