"""Search through blind indexes: variants of spelling find the patient, wrong values nothing."""

import datetime

import pytest
from django.urls import reverse

from dossiers.selectors import PatientQuery, patient_search
from tests.factories import make_patient

pytestmark = pytest.mark.django_db


@pytest.fixture
def lefevre():
    return make_patient(
        prison_number="2026123",
        last_name="Lefèvre-Le Gall",
        first_name="Jean-Noël",
        birth_date=datetime.date(1979, 11, 3),
    )


@pytest.mark.parametrize(
    "last_name",
    [
        "Lefèvre-Le Gall",
        "LEFEVRE-LE GALL",
        "lefevre le gall",
        "  Lefèvre   le-gall ",
        "LEFÈVRE LE GALL",
    ],
)
def test_last_name_variants_find_the_patient(lefevre, last_name):
    assert patient_search(PatientQuery(last_name=last_name)) == [lefevre]


@pytest.mark.parametrize("first_name", ["Jean-Noël", "jean noel", "JEAN-NOËL"])
def test_full_name_and_birth_date_find_the_patient(lefevre, first_name):
    query = PatientQuery(
        last_name="lefevre le gall", first_name=first_name, birth_date=datetime.date(1979, 11, 3)
    )
    assert patient_search(query) == [lefevre]


@pytest.mark.parametrize("prison_number", ["2026123", " 2026 123 "])
def test_prison_number_variants_find_the_patient(lefevre, prison_number):
    assert patient_search(PatientQuery(prison_number=prison_number)) == [lefevre]


@pytest.mark.parametrize(
    "query",
    [
        PatientQuery(prison_number="2026124"),
        PatientQuery(last_name="Lefevr"),
        PatientQuery(last_name="Lefèvre-Le Gall", first_name="Jean"),
        PatientQuery(last_name="Lefèvre-Le Gall", birth_date=datetime.date(1979, 11, 4)),
        PatientQuery(),
    ],
)
def test_wrong_values_find_nothing(lefevre, query):
    assert patient_search(query) == []


def test_homonyms_are_all_listed_sorted_by_first_name():
    b = make_patient(last_name="Homonyme", first_name="Bruno")
    a = make_patient(last_name="Homonyme", first_name="Alain")
    make_patient(last_name="Autre")
    assert patient_search(PatientQuery(last_name="homonyme")) == [a, b]


def test_search_page_finds_by_prison_number(persona_client, lefevre):
    response = persona_client("nurse").post(
        reverse("dossiers:patient_search"), {"prison_number": "2026 123"}, follow=True
    )
    assert response.redirect_chain == [(reverse("dossiers:patient_search"), 302)]
    assert response.status_code == 200
    assert "LEFÈVRE-LE GALL Jean-Noël" in response.content.decode()


def test_search_page_rejects_invalid_prison_number_clearly(persona_client, lefevre):
    response = persona_client("nurse").post(
        reverse("dossiers:patient_search"), {"prison_number": "12'; DROP TABLE"}
    )
    assert response.status_code == 400
    assert "4 à 10 chiffres" in response.content.decode()
    assert "LEFÈVRE" not in response.content.decode()


@pytest.mark.parametrize("prison_number", ["2026-123", "2026.123", "2026/12/3"])
def test_search_page_takes_no_separated_digits_for_a_prison_number(
    persona_client, lefevre, prison_number
):
    response = persona_client("nurse").post(
        reverse("dossiers:patient_search"), {"prison_number": prison_number}
    )
    assert response.status_code == 400
    assert "ressemble à une date" in response.content.decode()
    assert "LEFÈVRE" not in response.content.decode()
    assert patient_search(PatientQuery(prison_number=prison_number)) == []


def test_search_query_count_does_not_grow_with_results(persona_client):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    make_patient(last_name="Seul", first_name="Unique")
    for i in range(30):
        make_patient(last_name="Nombreux", first_name=f"Prénom{chr(65 + i % 26)}{i}")
    client = persona_client("secretary")
    url = reverse("dossiers:patient_search")
    counts = {}
    for name, expected in (("seul", 1), ("nombreux", 30)):
        with CaptureQueriesContext(connection) as queries:
            response = client.post(url, {"last_name": name}, follow=True)
        assert response.content.decode().count(name.upper()) == expected
        counts[name] = len(queries)
    assert counts["seul"] == counts["nombreux"]
    assert counts["seul"] <= 20  # session, user, access event and its chain link, search


def test_results_survive_reload_and_back_without_the_terms_anywhere(persona_client, lefevre):
    """Post/redirect/get: the results come back on a plain GET (Back, reload) from the
    blind index kept in the session; the terms are in neither the address nor the
    session, and each showing is a search in the access log (the index, not the term)."""
    from django.contrib.sessions.models import Session

    from usmp.audit.models import AccessEvent

    client = persona_client("nurse")
    url = reverse("dossiers:patient_search")
    posted = client.post(url, {"last_name": "Lefèvre-Le Gall", "first_name": "Jean-Noël"})
    assert (posted.status_code, posted["Location"]) == (302, url)
    for _ in range(2):  # reload, Back
        shown = client.get(url)
        assert "LEFÈVRE-LE GALL Jean-Noël" in shown.content.decode()
        assert "Résultats de votre dernière recherche, par nom" in shown.content.decode()
    # What the database keeps is signed and compressed: read it back as the server does
    # (looking for a term in its base64 would only find chance matches).
    decoded = str(Session.objects.get(session_key=client.session.session_key).get_decoded())
    assert "patient_search" in decoded
    for term in ("Lef", "LEF", "lefèvre", "Gall", "Jean", "Noël", "2026123"):
        assert term not in decoded
    searches = AccessEvent.objects.filter(action="patient_search").order_by("id")
    assert searches.count() == 2
    assert len({e.search_index for e in searches}) == 1 and searches[0].search_index

    cleared = client.post(url, {"clear": "1"})
    assert cleared.status_code == 302
    assert "LEFÈVRE" not in client.get(url).content.decode()


@pytest.mark.parametrize(
    "kept", [{"prison_number": 12}, {"surprise": "x"}, "not-a-dict", {"last_name": "x" * 500}]
)
def test_an_altered_kept_search_is_ignored(persona_client, lefevre, kept):
    client = persona_client("nurse")
    session = client.session
    session["patient_search"] = kept
    session.save()
    response = client.get(reverse("dossiers:patient_search"))
    assert response.status_code == 200
    assert "LEFÈVRE" not in response.content.decode()


@pytest.mark.parametrize("term", ["2026 123", " 2026123 ", "lefevre le gall", "LEFÈVRE-LE GALL"])
def test_the_home_page_s_one_box_takes_a_prison_number_or_a_last_name(
    persona_client, lefevre, term
):
    """A tired nurse types a name where a number was asked: the home page's box takes both
    (a term with a digit is a prison number, any other a last name)."""
    client = persona_client("nurse")
    home = client.get("/").content.decode()
    assert "Numéro d'écrou ou nom" in home and 'name="term"' in home
    response = client.post(reverse("dossiers:patient_search"), {"term": term}, follow=True)
    assert response.redirect_chain == [(reverse("dossiers:patient_search"), 302)]
    assert "LEFÈVRE-LE GALL Jean-Noël" in response.content.decode()


@pytest.mark.parametrize(
    ("term", "field", "message"),
    [
        ("12", "prison_number", "4 à 10 chiffres"),
        ("2026-123", "prison_number", "ressemble à une date"),
        ("x" * 150, "last_name", "au plus 100 caractères"),
    ],
)
def test_a_wrong_term_in_the_one_box_is_shown_in_its_field(
    persona_client, lefevre, term, field, message
):
    response = persona_client("nurse").post(reverse("dossiers:patient_search"), {"term": term})
    assert response.status_code == 400
    assert message in response.content.decode()
    assert response.context["form"][field].value() == term
    assert "LEFÈVRE" not in response.content.decode()


def test_an_empty_one_box_searches_nothing(persona_client, lefevre):
    response = persona_client("nurse").post(
        reverse("dossiers:patient_search"), {"term": "   "}, follow=True
    )
    assert response.status_code == 200
    assert "LEFÈVRE" not in response.content.decode()
