"""A physician downloads a patient's transfer package; the physician of the receiving unit
imports it into a new patient and reads the reconciliation."""

import pytest

from tests.e2e.conftest import ARTIFACTS, login
from tests.factories import PASSWORD, make_patient, make_user
from tests.transfers.helpers import as_unit_b, fill, keys_of_b, register
from transfers.keys import own_keys

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_package_goes_from_one_unit_to_the_other(page, live_server, tmp_path):
    coordinator = make_user("coordinator")
    register(coordinator, keys_of_b(), "Fictiveville")
    keys_a = own_keys()
    physician = make_user("physician")
    patient = make_patient(last_name="Partant", first_name="Jules")
    fill(patient, physician)
    ARTIFACTS.mkdir(exist_ok=True)

    login(page, live_server, physician.username, PASSWORD)
    page.goto(f"{live_server.url}/patients/{patient.pk}/")
    page.get_by_role("link", name="Paquet de transfert").click()
    page.get_by_label("Unité destinataire").select_option(index=1)
    page.screenshot(path=str(ARTIFACTS / "transfer-prepare.png"), full_page=True)
    with page.expect_download() as download:
        page.get_by_role("button", name="Télécharger le paquet").click()
    package = tmp_path / "paquet.cloison"
    download.value.save_as(package)
    page.get_by_role("button", name="Se déconnecter").click()

    with as_unit_b():
        register(coordinator, keys_a, "Démo")
        receiver = make_user("physician")
        login(page, live_server, receiver.username, PASSWORD)
        page.get_by_role("link", name="Importer un transfert").click()
        page.get_by_label("Paquet de transfert").set_input_files(str(package))
        page.get_by_role("button", name="Vérifier le paquet").click()
        page.get_by_text("Signé par Démo").wait_for()
        page.get_by_label("Un nouveau patient").check()
        page.get_by_label("Numéro d'écrou ici").fill("5551234")
        page.get_by_label("Date d'arrivée").fill("2026-03-02")
        page.screenshot(path=str(ARTIFACTS / "transfer-confirm.png"), full_page=True)
        page.get_by_role("button", name="Importer").click()
        page.get_by_text("Rapprochement").wait_for()
        assert page.locator("td", has_text="non").count() == 0
        page.screenshot(path=str(ARTIFACTS / "transfer-result.png"), full_page=True)
        page.get_by_role("link", name="Ouvrir le dossier").click()
        page.get_by_text("reçu de Démo").first.wait_for()
        page.screenshot(path=str(ARTIFACTS / "transfer-received-dossier.png"), full_page=True)
