"""The coordinator's account pages in the product (issue 17, item 7): create with a temporary
password shown once and changed at the first login, roles by their French names (clinical ones
only proposed), deactivate and reset with a confirmation step, no hash shown, nobody acting
on their own account."""

from __future__ import annotations

import pytest
from auditlog.models import LogEntry
from django.test import Client
from django.urls import reverse

from tests.factories import make_user
from usmp.accounts.models import RoleChange, User
from usmp.accounts.passwords import entropy_bits
from usmp.accounts.roles import Role
from usmp.accounts.staff import temporary_password

pytestmark = pytest.mark.django_db


@pytest.fixture
def coordinator_client(client):
    coordinator = make_user("coordinator")
    client.force_login(coordinator)
    client.coordinator = coordinator
    return client


def _new(client, **overrides):
    data = {
        "username": "cmartin",
        "first_name": "Claire",
        "last_name": "Martin",
        "email": "claire.martin@example.invalid",
        "roles": [Role.SECRETARY],
    }
    data.update(overrides)
    return client.post(reverse("staff_create"), data)


def test_the_list_names_roles_in_french_and_shows_no_hash(coordinator_client):
    nurse = make_user("nurse")
    page = coordinator_client.get(reverse("staff_list")).content.decode()
    assert nurse.username in page
    assert "Infirmier" in page  # the role's French name, not its code
    assert "pbkdf2" not in page and "argon2" not in page and nurse.password not in page


def test_an_account_is_created_with_a_temporary_password_shown_once(coordinator_client):
    response = _new(coordinator_client)
    assert response.status_code == 200
    user = User.objects.get(username="cmartin")
    page = response.content.decode()
    shown = page.split('<p class="secret"><code>')[1].split("</code>")[0]
    assert user.check_password(shown)
    assert user.must_change_password and user.created_by == coordinator_client.coordinator
    assert set(user.groups.values_list("name", flat=True)) == {Role.SECRETARY}
    assert (
        response["Cache-Control"].startswith("no-store") or "private" in response["Cache-Control"]
    )
    # Shown once: the account's page never shows it again.
    again = coordinator_client.get(reverse("staff_edit", args=[user.pk])).content.decode()
    assert shown not in again


def test_a_clinical_role_is_only_proposed(coordinator_client):
    _new(coordinator_client, username="pdurand", roles=[Role.PHYSICIAN, Role.SECRETARY])
    user = User.objects.get(username="pdurand")
    assert set(user.groups.values_list("name", flat=True)) == {Role.SECRETARY}
    assert RoleChange.objects.filter(user=user, role=Role.PHYSICIAN, status="pending").exists()
    page = coordinator_client.get(reverse("staff_list")).content.decode()
    assert "en attente de confirmation" in page


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("username", ""),
        ("username", "avec espace"),
        ("last_name", ""),
        ("email", "pas-un-mail"),
        ("roles", ["pirate"]),
    ],
)
def test_bad_input_is_refused_and_creates_nothing(coordinator_client, field, value):
    count = User.objects.count()
    response = _new(coordinator_client, **{field: value})
    assert response.status_code == 400
    assert User.objects.count() == count


def test_a_taken_username_is_refused_whatever_its_case(coordinator_client):
    User.objects.create_user("CMartin")
    count = User.objects.count()
    response = _new(coordinator_client)
    assert response.status_code == 400
    assert "Cet identifiant est déjà pris." in response.content.decode()
    assert User.objects.count() == count


def test_the_temporary_password_is_strong_and_readable():
    for _ in range(20):
        password = temporary_password()
        assert entropy_bits(password) >= 80
        assert not set(password) & set("0O1lI")


def test_a_temporary_password_leads_to_the_password_change_first():
    user = make_user("nurse")
    user.must_change_password = True
    user.save()
    client = Client()
    client.force_login(user)
    response = client.get(reverse("home"))
    assert response.status_code == 302 and response["Location"] == reverse("password_change")
    page = client.get(reverse("password_change")).content.decode()
    assert "Votre mot de passe a été fixé par le coordinateur" in page
    from tests.factories import PASSWORD

    new = "Une phrase assez longue pour 2026 !"
    response = client.post(
        reverse("password_change"),
        {"old_password": PASSWORD, "new_password1": new, "new_password2": new},
    )
    assert response.status_code == 302
    user.refresh_from_db()
    assert not user.must_change_password and user.check_password(new)
    assert client.get(reverse("home")).status_code == 200  # the session goes on


def test_a_weak_new_password_is_refused(client):
    from tests.factories import PASSWORD

    user = make_user("nurse")
    client.force_login(user)
    response = client.post(
        reverse("password_change"),
        {"old_password": PASSWORD, "new_password1": "motdepasse", "new_password2": "motdepasse"},
    )
    assert response.status_code == 400
    user.refresh_from_db()
    assert user.check_password(PASSWORD)


def test_deactivation_asks_for_confirmation_then_ends_the_sessions(coordinator_client):
    nurse = make_user("nurse")
    nurse_client = Client()
    nurse_client.force_login(nurse)
    assert nurse_client.get(reverse("home")).status_code == 200
    url = reverse("staff_status", args=[nurse.pk])
    step = coordinator_client.post(url, {"action": "deactivate"})
    assert step.status_code == 200 and "Désactiver ce compte ?" in step.content.decode()
    nurse.refresh_from_db()
    assert nurse.is_active
    done = coordinator_client.post(url, {"action": "deactivate", "confirm": "yes"})
    assert done.status_code == 302
    nurse.refresh_from_db()
    assert not nurse.is_active
    assert nurse_client.get(reverse("home")).status_code == 302  # back to the login
    assert LogEntry.objects.get_for_object(nurse).filter(changes__icontains="is_active").exists()
    coordinator_client.post(url, {"action": "reactivate", "confirm": "yes"})
    nurse.refresh_from_db()
    assert nurse.is_active


def test_a_password_reset_is_confirmed_then_shown_once(coordinator_client):
    nurse = make_user("nurse")
    url = reverse("staff_password_reset", args=[nurse.pk])
    step = coordinator_client.post(url)
    assert step.status_code == 200
    nurse.refresh_from_db()
    assert not nurse.must_change_password
    done = coordinator_client.post(url, {"confirm": "yes"})
    shown = done.content.decode().split('<p class="secret"><code>')[1].split("</code>")[0]
    nurse.refresh_from_db()
    assert nurse.check_password(shown) and nurse.must_change_password


def test_nobody_changes_their_own_roles_or_deactivates_themselves(coordinator_client):
    me = coordinator_client.coordinator
    response = coordinator_client.post(
        reverse("staff_edit", args=[me.pk]),
        {
            "username": me.username,
            "first_name": me.first_name,
            "last_name": "Nouveau",
            "email": "",
            "roles": [Role.COORDINATOR, Role.PSYCHIATRIST],
        },
    )
    assert response.status_code == 302
    me.refresh_from_db()
    assert me.last_name == "Nouveau"
    assert set(me.groups.values_list("name", flat=True)) == {Role.COORDINATOR}
    assert not RoleChange.objects.filter(user=me).exists()
    coordinator_client.post(
        reverse("staff_status", args=[me.pk]), {"action": "deactivate", "confirm": "yes"}
    )
    me.refresh_from_db()
    assert me.is_active


def test_removing_a_role_takes_effect_at_once(coordinator_client):
    nurse = make_user("nurse")
    response = coordinator_client.post(
        reverse("staff_edit", args=[nurse.pk]),
        {
            "username": nurse.username,
            "first_name": nurse.first_name,
            "last_name": nurse.last_name,
            "email": "",
            "roles": [],
        },
    )
    assert response.status_code == 302
    assert not nurse.groups.exists()


def test_giving_the_coordinator_role_opens_account_management(coordinator_client):
    secretary = make_user("secretary")
    coordinator_client.post(
        reverse("staff_edit", args=[secretary.pk]),
        {
            "username": secretary.username,
            "first_name": secretary.first_name,
            "last_name": secretary.last_name,
            "email": "",
            "roles": [Role.SECRETARY, Role.COORDINATOR],
        },
    )
    secretary = User.objects.get(pk=secretary.pk)
    assert secretary.is_staff
    assert secretary.groups.filter(name=Role.COORDINATOR).exists()


def test_a_coordinator_cannot_edit_an_it_administrators_account(coordinator_client):
    admin = make_user("superuser")
    assert coordinator_client.get(reverse("staff_edit", args=[admin.pk])).status_code == 403
    coordinator_client.post(
        reverse("staff_status", args=[admin.pk]), {"action": "deactivate", "confirm": "yes"}
    )
    admin.refresh_from_db()
    assert admin.is_active


def test_an_unknown_account_is_404(coordinator_client):
    assert coordinator_client.get(reverse("staff_edit", args=[999999])).status_code == 404


def test_the_menu_leads_to_the_product_pages_not_the_admin(coordinator_client):
    page = coordinator_client.get(reverse("home")).content.decode()
    assert reverse("staff_list") in page
    assert "/admin/accounts/user/" not in page
