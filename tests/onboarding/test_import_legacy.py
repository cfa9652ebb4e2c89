"""manage.py import_legacy: the sample files, every kind of bad line, encodings, a 50 MB
file, the second run, an interrupted run resumed, XLSX workbooks. All names are invented."""

from __future__ import annotations

import datetime
import io
import tracemalloc
from pathlib import Path
from unittest import mock

import pytest
import time_machine
from auditlog.models import LogEntry
from django.core.management import CommandError, call_command

from appointments.models import Appointment, VisitTask
from dossiers.models import Dossier, Patient
from dossiers.selectors import patient_by_prison_number
from onboarding import lines as lines_module
from onboarding import services
from onboarding.models import ImportLine, ImportRun
from tests.appointments.factories import practitioner
from tests.factories import make_patient, make_user

pytestmark = pytest.mark.django_db

DOCS = Path(__file__).resolve().parents[2] / "docs" / "import"
# The sample's appointments are in June 2027: the tests live on 1 December 2026.
SAMPLE_NOW = datetime.datetime(2026, 12, 1, 10, 0, tzinfo=datetime.UTC)
PATIENT_HEADER = "numero_ecrou;nom;prenom;date_naissance;sexe;date_arrivee;ins\n"
APPOINTMENT_HEADER = "numero_ecrou;date;debut;fin;praticien;specialite;salle;motif\n"


@pytest.fixture
def clerk():
    return make_user("secretary")


def run(*args: object, user=None) -> str:
    out = io.StringIO()
    call_command(
        "import_legacy",
        *[str(a) for a in args],
        "--user",
        user.username,
        stdout=out,
        stderr=io.StringIO(),
    )
    return out.getvalue()


def write(tmp_path: Path, name: str, text: str, encoding: str = "utf-8") -> Path:
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return path


def report_lines(output: str) -> list[str]:
    return [line.strip() for line in output.splitlines() if " ligne " in line]


def test_sample_files_import_patients_then_appointments(clerk):
    doctor = practitioner("physician", room_name="Cabinet 1")
    doctor.username = "dr.exemple"
    doctor.save(update_fields=["username"])
    with time_machine.travel(SAMPLE_NOW, tick=False):
        output = run(DOCS / "appointments.csv", DOCS / "patients.csv", user=clerk)
    assert Patient.objects.count() == 5
    assert Dossier.objects.count() == 10
    assert Appointment.objects.count() == 3
    assert "Acceptées (créées) : 5" in output
    assert "Acceptées (créées) : 3" in output
    # Patients came first although named second; encrypted and blind-indexed as the form's.
    patient = patient_by_prison_number("900103")
    assert (patient.last_name, patient.first_name) == ("Démonstration", "Céline")
    assert patient.ins == "295059912345649"
    assert patient_by_prison_number("900105").sex == "M"
    # Written as the clerk, in the write history.
    assert LogEntry.objects.filter(actor=clerk, object_pk=str(patient.pk)).exists()
    booked = Appointment.objects.get(patient=patient)
    assert (booked.practitioner, booked.motive) == (doctor, "Renouvellement")


def test_dry_run_writes_nothing_and_reports_what_would_be(clerk):
    history = LogEntry.objects.count()
    with time_machine.travel(SAMPLE_NOW, tick=False):
        output = run(DOCS / "patients.csv", "--dry-run", user=clerk)
    assert "essai à blanc" in output
    assert "Acceptées (seraient créées) : 5" in output
    assert Patient.objects.count() == 0
    assert ImportRun.objects.count() == 0
    assert LogEntry.objects.count() == history


def test_a_dry_run_of_both_files_books_the_patients_it_would_create(clerk):
    doctor = practitioner("physician", room_name="Cabinet 1")
    doctor.username = "dr.exemple"
    doctor.save(update_fields=["username"])
    with time_machine.travel(SAMPLE_NOW, tick=False):
        output = run(DOCS / "appointments.csv", DOCS / "patients.csv", "--dry-run", user=clerk)
    assert "Acceptées (seraient créées) : 5" in output
    assert "Acceptées (seraient créées) : 3" in output
    assert (Patient.objects.count(), Appointment.objects.count()) == (0, 0)


def test_second_run_changes_nothing_and_says_so(clerk, tmp_path):
    path = write(
        tmp_path,
        "p.csv",
        PATIENT_HEADER
        + "900201;Exemple;Aline;14/02/1988;F;03/11/2025;\n31/02/1990;X;Y;01/01/1990;F;01/01/2020;\n",
    )
    first = run(path, user=clerk)
    counts = (Patient.objects.count(), LogEntry.objects.count(), VisitTask.objects.count())
    second = run(path, user=clerk)
    assert "a déjà été importé" in second
    assert "rien n'a changé" in second
    assert (Patient.objects.count(), LogEntry.objects.count(), VisitTask.objects.count()) == counts
    # The stored report is the first one's.
    assert report_lines(second) == report_lines(first)
    # The same rows in another file (another digest): found by blind index, nothing written.
    copy = write(tmp_path, "copie.csv", path.read_text() + "\n")
    third = run(copy, user=clerk)
    assert "Acceptées (créées) : 0" in third
    assert "p.csv" not in third
    assert "déjà enregistré" in third
    assert Patient.objects.count() == counts[0]


def test_every_kind_of_bad_line_is_refused_and_the_good_ones_pass(clerk, tmp_path):
    make_patient(
        prison_number="555001",
        last_name="Existant",
        first_name="Paul",
        birth_date=datetime.date(1980, 1, 2),
    )
    rows = [
        "900301;Bon;Premier;01/01/1980;M;01/10/2025;",  # 2: accepted
        "900302;Mauvais;Jour;31/02/1990;M;01/10/2025;",  # 3: no 31 February
        "12/03/2026;Date;Colonne;01/01/1980;M;01/10/2025;",  # 4: a date as prison number
        "900304;Double;Numero;01/01/1981;M;01/10/2025;",  # 5: accepted
        "900304;Autre;Personne;05/05/1975;F;01/10/2025;",  # 6: number taken by line 5
        "900304;Double;Numero;01/01/1981;M;01/10/2025;",  # 7: line 5 again
        "900399;Existant;Pierre;02/01/1980;M;01/10/2025;",  # 8: likely duplicate of 555001
        "900308;Ins;Faux;01/01/1980;F;01/10/2025;295059912345600",  # 9: wrong INS key
        "900309;;Sansnom;01/01/1980;F;01/10/2025;",  # 10: no last name
        "900310;Trop;Court;01/01/1980;F",  # 11: missing cells
        "900311;Futur;Arrive;01/01/1980;F;01/10/2099;",  # 12: arrival in 2099
        "900312;Sexe;Inconnu;01/01/1980;Q;01/10/2025;",  # 13: unknown sex
        "900313;Bon;Dernier;1982-01-01;F;2025-10-01;",  # 14: accepted
    ]
    path = write(tmp_path, "mauvais.csv", PATIENT_HEADER + "\n".join(rows) + "\n")
    output = run(path, user=clerk)
    assert {patient_by_prison_number(n) is not None for n in ("900301", "900304", "900313")} == {
        True
    }
    assert Patient.objects.count() == 4
    assert "Acceptées (créées) : 3" in output
    assert "Doublons (non importés) : 3" in output
    assert "Refusées : 7" in output
    got = {line.split(":")[0]: line for line in report_lines(output)}
    assert "Saisissez une date valide" in got["mauvais.csv ligne 3, colonne date_naissance"]
    assert "ressemble à une date" in got["mauvais.csv ligne 4, colonne numero_ecrou"]
    assert "autre identité" in got["mauvais.csv ligne 6, colonne numero_ecrou"]
    assert "déjà enregistré" in got["mauvais.csv ligne 7, colonne numero_ecrou"]
    assert "doublon probable" in got["mauvais.csv ligne 8, colonne numero_ecrou"]
    assert "clé" in got["mauvais.csv ligne 9, colonne ins"]
    assert "mauvais.csv ligne 10, colonne nom" in got
    assert "5 cellules" in got["mauvais.csv ligne 11"]
    assert "mauvais.csv ligne 12, colonne date_arrivee" in got
    assert "mauvais.csv ligne 13, colonne sexe" in got
    # The report names lines and reasons, never a value read from the file.
    for secret in ("Existant", "Pierre", "Personne", "Sansnom", "295059912345600", "Q;"):
        assert secret not in output
    assert not ImportLine.objects.filter(message__contains="Pierre").exists()


def test_a_refusal_by_a_service_keeps_nothing_of_the_line(clerk, tmp_path):
    path = write(
        tmp_path,
        "p.csv",
        PATIENT_HEADER
        + "900401;Bon;Premier;01/01/1980;M;01/10/2025;\n900402;Bon;Second;01/01/1981;M;01/10/2025;\n",
    )
    real = lines_module.patient_admit

    def admit_then_fail(**identity):
        patient = real(**identity)
        if identity["prison_number"] == "900401":
            raise ValueError("after the patient, before the end of the line")
        return patient

    with mock.patch.object(lines_module, "patient_admit", admit_then_fail):
        output = run(path, user=clerk)
    assert "erreur inattendue (ValueError)" in output
    assert patient_by_prison_number("900401") is None
    assert Dossier.objects.count() == 2
    assert patient_by_prison_number("900402") is not None


def test_a_file_in_windows_1252_is_refused_naming_the_line_unless_asked(clerk, tmp_path):
    text = (
        PATIENT_HEADER
        + "900501;Martin;Luc;01/01/1980;M;01/10/2025;\n900502;Lefèvre;Hélène;02/02/1982;F;01/10/2025;\n"
    )
    path = write(tmp_path, "excel.csv", text, encoding="cp1252")
    with pytest.raises(CommandError) as refused:
        run(path, user=clerk)
    assert "ligne 3" in str(refused.value)
    assert "Windows-1252" in str(refused.value)
    assert "--encoding cp1252" in str(refused.value)
    assert Patient.objects.count() == 0
    output = run(path, "--encoding", "cp1252", user=clerk)
    assert "lu en cp1252" in output
    assert patient_by_prison_number("900502").first_name == "Hélène"


def test_comma_separated_utf8_without_bom_and_crlf_is_read(clerk, tmp_path):
    text = (
        PATIENT_HEADER.replace(";", ",").replace("\n", "\r\n")
        + '900601,"Dupont-Durand",Zoé,01/01/1980,F,01/10/2025,\r\n'
    )
    run(write(tmp_path, "p.csv", text), user=clerk)
    assert patient_by_prison_number("900601").last_name == "Dupont-Durand"


def test_a_header_that_is_not_one_is_refused(clerk, tmp_path):
    with pytest.raises(CommandError, match="colonnes manquantes : date_naissance"):
        run(
            write(tmp_path, "p.csv", "numero_ecrou;nom;prenom;sexe;date_arrivee\n1;2;3;4;5\n"),
            user=clerk,
        )


def test_the_acting_account_must_be_allowed_to_register(tmp_path):
    coordinator = make_user("coordinator")
    with pytest.raises(CommandError, match="ne peut pas créer"):
        run(DOCS / "patients.csv", user=coordinator)
    assert Patient.objects.count() == 0


class Crash(BaseException):
    """The process stopping mid-import (not an error a line could catch)."""


def _patient_rows(prefix: int, count: int) -> str:
    rows = []
    for i in range(count):
        if i % 7 == 3:
            rows.append(f"{prefix}{i:04d};Refus;Ligne;30/02/1980;M;01/10/2025;")
        else:
            rows.append(
                f"{prefix}{i:04d};{'Alpha' if prefix == 71 else 'Beta'};Numero{chr(65 + i % 26)};{1950 + i % 50}-0{1 + i % 9}-1{i % 10};M;01/10/2025;"
            )
    return PATIENT_HEADER + "\n".join(rows) + "\n"


def _result(path: Path, prefix: int) -> dict[str, object]:
    runs = ImportRun.objects.get(filename=path.name)
    ids = [p.pk for p in Patient.objects.all() if p.prison_number.startswith(str(prefix))]
    return {
        "counts": (runs.accepted, runs.duplicates, runs.refused, runs.position),
        "lines": list(runs.lines.values_list("line", "outcome", "code", "column")),
        "patients": len(ids),
        "dossiers": Dossier.objects.filter(patient_id__in=ids).count(),
        "history": LogEntry.objects.filter(
            additional_data__patient_id__in=[str(i) for i in ids]
        ).count(),
    }


def test_an_interrupted_run_resumed_gives_what_one_clean_run_gives(clerk, tmp_path):
    clean = write(tmp_path, "clean.csv", _patient_rows(71, 260))
    run(clean, user=clerk)
    broken = write(tmp_path, "broken.csv", _patient_rows(72, 260))
    real, calls = lines_module.patient_admit, []

    def admit_then_crash(**identity):
        calls.append(1)
        if len(calls) == 180:
            raise Crash
        return real(**identity)

    with (
        mock.patch.object(lines_module, "patient_admit", admit_then_crash),
        mock.patch.object(services, "BATCH_SECONDS", 3600),
        pytest.raises(Crash),
    ):
        run(broken, user=clerk)
    interrupted = ImportRun.objects.get(filename="broken.csv")
    # The batches of 100 accepted lines before the crash are committed, not the one under way.
    assert interrupted.finished_at is None
    assert interrupted.accepted == 100
    resumed = run(broken, user=clerk)
    assert "Reprise" in resumed
    want, got = _result(clean, 71), _result(broken, 72)
    assert got == want
    assert want["patients"] == 260 - len([i for i in range(260) if i % 7 == 3])


def test_appointments_go_through_the_booking_rules_line_by_line(clerk, tmp_path):
    doctor = practitioner(
        "physician", room_name="Cabinet 1", start=datetime.time(8), end=datetime.time(18)
    )
    day = (datetime.date.today() + datetime.timedelta(days=30)).strftime("%d/%m/%Y")
    past = (datetime.date.today() - datetime.timedelta(days=3)).strftime("%d/%m/%Y")
    for number in ("800001", "800002"):
        make_patient(prison_number=number)
    login = doctor.username
    rows = [
        f"800001;{day};09:00;09:30;{login};general-medicine;Cabinet 1;Suivi",  # 2 accepted
        f"800002;{day};09:15;09:45;{login};general-medicine;Cabinet 1;",  # 3 practitioner busy
        f"800001;{day};09:00;09:30;{login};general-medicine;Cabinet 1;Suivi",  # 4 duplicate
        f"800002;{day};07:00;07:30;{login};general-medicine;Cabinet 1;",  # 5 outside hours
        f"800002;{past};10:00;10:30;{login};general-medicine;Cabinet 1;",  # 6 in the past
        f"800009;{day};10:00;10:30;{login};general-medicine;Cabinet 1;",  # 7 unknown patient
        f"800002;{day};10:00;10:30;nobody;general-medicine;Cabinet 1;",  # 8 unknown login
        f"800002;{day};10:00;10:30;{login};astrology;Cabinet 1;",  # 9 unknown specialty
        f"800002;{day};10:30;10:00;{login};general-medicine;Cabinet 1;",  # 10 end before start
        f"800002;{day};10:00;10:30;{login};Médecine générale;cabinet 1;",  # 11 accepted
    ]
    output = run(
        write(tmp_path, "rdv.csv", APPOINTMENT_HEADER + "\n".join(rows) + "\n"), user=clerk
    )
    assert Appointment.objects.count() == 2
    assert "Acceptées (créées) : 2" in output
    assert "Doublons (non importés) : 1" in output
    assert "Refusées : 7" in output
    got = {line.split(":")[0]: line for line in report_lines(output)}
    assert "rdv.csv ligne 3" in got and "rdv.csv ligne 5" in got and "rdv.csv ligne 6" in got
    assert "importez d'abord les patients" in got["rdv.csv ligne 7, colonne numero_ecrou"]
    assert "rdv.csv ligne 8, colonne praticien" in got
    assert "rdv.csv ligne 9, colonne specialite" in got
    assert "rdv.csv ligne 10, colonne fin" in got
    assert "Suivi" not in output
    assert sorted(str(a.motive) for a in Appointment.objects.all()) == ["None", "Suivi"]


def test_an_xlsx_workbook_with_both_sheets(clerk, tmp_path):
    openpyxl = pytest.importorskip("openpyxl")
    doctor = practitioner("physician", room_name="Cabinet 1")
    day = datetime.date.today() + datetime.timedelta(days=30)
    workbook = openpyxl.Workbook()
    rdv = workbook.active
    rdv.title = "rendez-vous"
    rdv.append(
        ["Numéro écrou", "Date", "Début", "Fin", "Praticien", "Spécialité", "Salle", "Motif"]
    )
    rdv.append(
        [
            810001,
            datetime.datetime.combine(day, datetime.time()),
            datetime.time(9),
            datetime.time(9, 30),
            doctor.username,
            "general-medicine",
            "Cabinet 1",
            None,
        ]
    )
    patients = workbook.create_sheet("patients")
    patients.append(
        ["numero_ecrou", "nom", "prenom", "date_naissance", "sexe", "date_arrivee", "ins"]
    )
    patients.append(
        [
            810001,
            "Tableur",
            "Anne",
            datetime.datetime(1990, 3, 4),
            "F",
            datetime.date(2025, 10, 1),
            None,
        ]
    )
    patients.append(
        [
            datetime.datetime(2026, 3, 12),
            "Date",
            "Ecrou",
            datetime.datetime(1990, 3, 4),
            "F",
            datetime.date(2025, 10, 1),
            None,
        ]
    )
    path = tmp_path / "classeur.xlsx"
    workbook.save(path)
    output = run(path, user=clerk)
    assert patient_by_prison_number("810001").birth_date == datetime.date(1990, 3, 4)
    assert Appointment.objects.filter(patient__in=Patient.objects.all()).count() == 1
    assert "classeur.xlsx, feuille patients" in output
    assert "classeur.xlsx ligne 3, colonne numero_ecrou" in output
    second = run(path, user=clerk)
    assert second.count("a déjà été importé") == 2


@pytest.mark.slow
def test_a_50_mb_file_streams_in_bounded_memory(clerk, tmp_path):
    path = tmp_path / "grand.csv"
    good = 0
    with path.open("w", encoding="utf-8") as fh:
        fh.write(PATIENT_HEADER)
        line = 1
        while fh.tell() < 50 * 1024 * 1024:
            line += 1
            if line % 20000 == 0:
                good += 1
                fh.write(
                    f"{950000 + good};Grand;Fichier{chr(65 + good % 26)};01/01/19{50 + good % 40};M;01/10/2025;\n"
                )
            else:
                # A line of the wrong shape (10 cells): refused without a query.
                fh.write(f"{line};" + "x" * 80 + ";a;b;c;d;e;f;g;h\n")
    assert path.stat().st_size >= 50 * 1024 * 1024
    tracemalloc.start()
    try:
        output = run(path, user=clerk)
        _current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert Patient.objects.count() == good
    assert f"Acceptées (créées) : {good}" in output
    assert peak < 40 * 1024 * 1024, peak
    # Every refusal counted; the first LISTED_LINES_MAX listed, the rest summed up.
    assert "de plus, non listées une à une" in output
    assert ImportLine.objects.count() == services.LISTED_LINES_MAX
