"""Benchmark: the agenda's day view, week view and free-slot search on a large unit.

Run with `make bench BENCH_ARGS="bench/agenda.py"`. It fills the dedicated `bench` database
once (re-used on later runs) with a generated unit: 30 practitioners in 30 rooms, 2,000
patients, and 1,000,000 appointments over 5 years (4.5 years of history, 6 months ahead). The
measured day holds 400 appointments and the measured week 1,200. It then times the pages
through Django's test Client (middleware, permissions, queries, decryption of identities and
template rendering: the server's whole work) and prints median and p95 times and the query
count of each.

Rows are written with bulk_create, which skips django-auditlog: fine for a throw-away bench
database, never for the product.
"""

from __future__ import annotations

import argparse
import datetime
import os
import random
import secrets
import statistics
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "usmp.settings")

import django

django.setup()

from django.conf import settings  # noqa: E402
from django.contrib.auth.models import Group  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection, transaction  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402
from django.urls import reverse  # noqa: E402
from django.utils import timezone  # noqa: E402

from appointments import clock  # noqa: E402
from appointments.defaults import ensure_specialties  # noqa: E402
from appointments.models import (  # noqa: E402
    MAX_DURATION,
    Appointment,
    MovementPoint,
    OpeningHours,
    Room,
    Specialty,
    Status,
)
from dossiers.models import Compartment, Dossier, Patient  # noqa: E402
from usmp.accounts.models import User  # noqa: E402
from usmp.accounts.roles import Role  # noqa: E402
from usmp.crypto import aead  # noqa: E402
from usmp.crypto.fields import encrypted_fields  # noqa: E402
from usmp.crypto.keyring import get_keyring  # noqa: E402
from usmp.crypto.models import DataKey  # noqa: E402

PRACTITIONERS = [
    ("general-medicine", Role.PHYSICIAN, 6),
    ("nursing", Role.NURSE, 8),
    ("psychiatry", Role.PSYCHIATRIST, 4),
    ("psychology", Role.PSYCHOLOGIST, 4),
    ("dental", Role.DENTIST, 3),
    ("hepatology", Role.PHYSICIAN, 1),
    ("addiction", Role.PHYSICIAN, 2),
    ("physiotherapy", Role.PHYSICIAN, 1),
    ("ophthalmology", Role.PHYSICIAN, 1),
]
SLOT_MINUTES = 20
SLOTS_PER_DAY = 30  # 08:00-18:00
PATIENTS = 2_000
BATCH = 10_000


def _key(purpose: str) -> DataKey:
    keyring = get_keyring()
    plain = secrets.token_bytes(32)
    key = DataKey(purpose=purpose, master_key_id=keyring.active_id)
    key.wrapped_key = aead.wrap(keyring.active_key, keyring.active_id, plain, key.id)
    key._plain = plain
    return key


def _seal(instance: object) -> None:
    for field in encrypted_fields(type(instance)):  # type: ignore[arg-type]
        instance.__dict__[field.attname] = field.pre_save(instance, add=True)


def build_unit(rng: random.Random) -> None:
    """Reference data, practitioners with opening hours, patients with their dossiers."""
    ensure_specialties()
    point = MovementPoint.objects.get_or_create(
        code="usmp-attente", defaults={"label": "Salle d'attente USMP"}
    )[0]
    n = 0
    for code, role, count in PRACTITIONERS:
        specialty = Specialty.objects.get(code=code)
        for _ in range(count):
            n += 1
            user = User.objects.create_user(
                username=f"bench-practitioner-{n:02d}",
                first_name="Praticien",
                last_name=f"Banc{n:02d}",
            )
            user.groups.add(Group.objects.get(name=role))
            room = Room.objects.create(name=f"Cabinet banc {n:02d}", movement_point=point)
            for weekday in range(5):
                OpeningHours.objects.create(
                    practitioner=user,
                    specialty=specialty,
                    room=room,
                    weekday=weekday,
                    start_time=datetime.time(8, 0),
                    end_time=datetime.time(18, 0),
                    valid_from=datetime.date(2015, 1, 5),
                )
    keys, patients, dossiers = [], [], []
    for i in range(PATIENTS):
        identity = _key(DataKey.Purpose.IDENTITY)
        patient = Patient(
            identity_key=identity,
            prison_number=f"{2_000_000 + i}",
            last_name=f"Nom{rng.randint(0, 5000)}",
            first_name=f"Prenom{rng.randint(0, 500)}",
            birth_date=datetime.date(1960, 1, 1) + datetime.timedelta(days=rng.randint(0, 15000)),
            sex="M",
            arrival_date=datetime.date(2020, 1, 1),
        )
        patient.compute_blind_indexes()
        _seal(patient)
        keys.append(identity)
        patients.append(patient)
        for compartment in Compartment:
            key = _key(compartment.value)
            keys.append(key)
            dossiers.append(Dossier(patient=patient, compartment=compartment, data_key=key))
    with transaction.atomic():
        DataKey.objects.bulk_create(keys, batch_size=BATCH)
        Patient.objects.bulk_create(patients, batch_size=BATCH)
        Dossier.objects.bulk_create(dossiers, batch_size=BATCH)


def fill(target: int, target_day: datetime.date) -> None:
    """Appointments on every weekday of 5 years around TARGET_DAY, 20-minute slots. Each
    weekday gets about TARGET / weekdays appointments; the target week gets 1,200 with 400
    on TARGET_DAY."""
    have = Appointment.objects.count()
    # Each day's count is rounded from the mean with a random half-unit jitter, so a complete
    # fill lands within a few dozen rows of TARGET, on either side: count it as done.
    if have >= target - max(100, target // 1000):
        return
    rng = random.Random(4)
    if not User.objects.filter(username__startswith="bench-practitioner-").exists():
        print("building the unit: 30 practitioners, 2,000 patients")
        build_unit(rng)
    windows = list(
        OpeningHours.objects.filter(weekday=0)
        .select_related("practitioner", "room", "specialty")
        .order_by("practitioner__username")
    )
    patients = list(Patient.objects.values_list("pk", flat=True))
    dossier_keys = {
        (d.patient_id, d.compartment): d.data_key
        for d in Dossier.objects.select_related("data_key")
    }
    creator = windows[0].practitioner
    first = target_day - datetime.timedelta(days=int(4.5 * 365))
    last = target_day + datetime.timedelta(days=int(0.5 * 365))
    days = [
        first + datetime.timedelta(days=i)
        for i in range((last - first).days)
        if (first + datetime.timedelta(days=i)).weekday() < 5
    ]
    monday = clock.week_monday(target_day)
    week = {monday + datetime.timedelta(days=i) for i in range(5)}
    ordinary = [d for d in days if d not in week]
    per_day = (target - 1_200) / len(ordinary)
    capacity = len(windows) * SLOTS_PER_DAY
    print(
        f"generating {target:,} appointments on {len(days)} weekdays "
        f"({per_day:.0f} per ordinary day, capacity {capacity}); kept for later runs"
    )
    now = timezone.now()
    started = time.perf_counter()
    pending: list[Appointment] = []
    written = 0
    for day in days:
        if day == target_day:
            count = 400
        elif day in week:
            count = 200
        else:
            count = round(per_day + rng.uniform(-0.5, 0.5))
        slots = rng.sample(range(capacity), count)
        day_patients = rng.sample(patients, count)  # one appointment per patient and day
        opens = clock.wall_clock(day, datetime.time(8, 0))
        for slot, patient_id in zip(slots, day_patients, strict=True):
            window = windows[slot // SLOTS_PER_DAY]
            start = opens + datetime.timedelta(minutes=SLOT_MINUTES * (slot % SLOTS_PER_DAY))
            past = start < now
            roll = rng.random()
            status = Status.PLANNED
            reason = ""
            if past:
                status = Status.DONE if roll < 0.9 else Status.NOT_DONE
                reason = "" if status == Status.DONE else "not_brought"
            elif roll < 0.05:
                status, reason = Status.CANCELLED, "escort_cancelled"
            appointment = Appointment(
                patient_id=patient_id,
                specialty=window.specialty,
                practitioner=window.practitioner,
                room=window.room,
                movement_point_id=window.room.movement_point_id,
                start=start,
                end=start + datetime.timedelta(minutes=SLOT_MINUTES),
                status=status,
                reason=reason,
                side="penitentiary" if reason else "",
                data_key=dossier_keys[(patient_id, window.specialty.compartment)],
                motive="Consultation de suivi",
                created_by=creator,
            )
            _seal(appointment)
            pending.append(appointment)
        if len(pending) >= BATCH:
            with transaction.atomic():
                Appointment.objects.bulk_create(pending)
            written += len(pending)
            pending = []
            rate = written / (time.perf_counter() - started)
            print(f"  {written:,}/{target:,} ({rate:,.0f} rows/s)", flush=True)
    with transaction.atomic():
        Appointment.objects.bulk_create(pending)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")


def stress_week(monday: datetime.date, count: int = 1_200) -> Any:
    """One extra practitioner with COUNT five-minute appointments in the week of MONDAY
    (06:00-23:00 every day), with patients of their own: the week view's worst case."""
    user = User.objects.filter(username="bench-stress").first()
    if user is not None:
        return user
    point = MovementPoint.objects.get(code="usmp-attente")
    specialty = Specialty.objects.get(code="nursing")
    user = User.objects.create_user(username="bench-stress", first_name="Charge", last_name="Max")
    user.groups.add(Group.objects.get(name=Role.NURSE))
    room = Room.objects.create(name="Salle de soins banc", movement_point=point)
    keys, patients, dossiers = [], [], []
    for i in range(count // 4):
        identity = _key(DataKey.Purpose.IDENTITY)
        patient = Patient(
            identity_key=identity,
            prison_number=f"{3_000_000 + i}",
            last_name=f"Charge{i}",
            first_name="Test",
            birth_date=datetime.date(1980, 1, 1),
            sex="M",
            arrival_date=datetime.date(2020, 1, 1),
        )
        patient.compute_blind_indexes()
        _seal(patient)
        keys.append(identity)
        patients.append(patient)
        key = _key("somatic")
        keys.append(key)
        dossiers.append(Dossier(patient=patient, compartment="somatic", data_key=key))
    rows = []
    slots = [
        clock.wall_clock(monday + datetime.timedelta(days=d), datetime.time(6, 0))
        + datetime.timedelta(minutes=5 * k)
        for d in range(7)
        for k in range(17 * 12)
    ][:count]
    for i, start in enumerate(slots):
        patient = patients[i % len(patients)]
        appointment = Appointment(
            patient=patient,
            specialty=specialty,
            practitioner=user,
            room=room,
            movement_point=point,
            start=start,
            end=start + datetime.timedelta(minutes=5),
            data_key=dossiers[i % len(patients)].data_key,
            motive="Soins",
            created_by=user,
        )
        _seal(appointment)
        rows.append(appointment)
    with transaction.atomic():
        DataKey.objects.bulk_create(keys)
        Patient.objects.bulk_create(patients)
        Dossier.objects.bulk_create(dossiers)
        Appointment.objects.bulk_create(rows)
    return user


def measure(client: Client, url: str, runs: int) -> tuple[float, float, int, int]:
    client.get(url)  # warm-up
    timings = []
    queries = 0
    for _ in range(runs):
        with CaptureQueriesContext(connection) as ctx:
            t0 = time.perf_counter()
            response = client.get(url)
            timings.append((time.perf_counter() - t0) * 1000)
        assert response.status_code == 200, (url, response.status_code)
        queries = len(ctx.captured_queries)
    timings.sort()
    return (
        statistics.median(timings),
        timings[int(len(timings) * 0.95)],
        queries,
        len(response.content),
    )


def measured_day() -> datetime.date:
    """The day that holds 400 appointments: a Wednesday one week ahead (so that free slots
    are searched from now), or, in a database generated on an earlier day, the latest day
    holding exactly 400."""
    target_day = clock.week_monday(clock.today()) + datetime.timedelta(days=9)
    existing = Appointment.objects.filter(
        start__gte=clock.day_bounds(target_day)[0],
        start__lt=clock.day_bounds(target_day)[1],
    )
    if Appointment.objects.exists() and existing.count() != 400:
        # Generated on another day: the target day moved. Look for the day with 400.
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT (start AT TIME ZONE 'Europe/Paris')::date d FROM appointments_appointment "
                "GROUP BY d HAVING count(*) = 400 ORDER BY d DESC LIMIT 1"
            )
            row = cursor.fetchone()
        if row:
            target_day = row[0]
    return target_day


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--appointments", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=30)
    args = parser.parse_args()
    call_command("migrate", verbosity=0)
    target_day = measured_day()
    fill(args.appointments, target_day)
    settings.ALLOWED_HOSTS.append("testserver")
    settings.DEBUG = False
    nurse = User.objects.filter(username="bench-nurse").first()
    if nurse is None:
        nurse = User.objects.create_user(username="bench-nurse", first_name="Infirmière")
        nurse.groups.add(Group.objects.get(name=Role.NURSE))
    client = Client()
    client.force_login(nurse)
    busiest = (
        Appointment.objects.filter(
            start__gte=clock.day_bounds(target_day)[0], start__lt=clock.day_bounds(target_day)[1]
        )
        .values_list("practitioner_id", flat=True)
        .first()
    )
    monday = clock.week_monday(target_day)
    week_count = Appointment.objects.filter(
        start__gte=clock.day_bounds(monday)[0],
        start__lt=clock.day_bounds(monday + datetime.timedelta(days=7))[0],
    ).count()
    practitioner_week = Appointment.objects.filter(
        practitioner_id=busiest,
        start__gte=clock.day_bounds(monday)[0],
        start__lt=clock.day_bounds(monday + datetime.timedelta(days=7))[0],
    ).count()
    day_count = Appointment.objects.filter(
        start__gte=clock.day_bounds(target_day)[0], start__lt=clock.day_bounds(target_day)[1]
    ).count()
    gp = Specialty.objects.get(code="general-medicine")
    stress_monday = monday + datetime.timedelta(days=7)
    stressed = stress_week(stress_monday)
    cases = [
        (
            f"day view, {day_count} appointments, columns by practitioner",
            f"{reverse('appointments:day')}?date={target_day.isoformat()}",
        ),
        (
            f"day view, {day_count} appointments, columns by room",
            f"{reverse('appointments:day')}?date={target_day.isoformat()}&by=room",
        ),
        (
            f"printable day list, {day_count} appointments",
            f"{reverse('appointments:day_print')}?date={target_day.isoformat()}",
        ),
        (
            f"week view of one practitioner ({practitioner_week} of the unit's {week_count})",
            f"{reverse('appointments:week')}?practitioner={busiest}&date={monday.isoformat()}",
        ),
        (
            "week view of one practitioner holding 1,200 five-minute appointments",
            f"{reverse('appointments:week')}?practitioner={stressed.pk}"
            f"&date={stress_monday.isoformat()}",
        ),
        (
            "free-slot search, general medicine (6 practitioners), from now",
            f"{reverse('appointments:slots')}?s-specialty={gp.pk}",
        ),
        (
            "free-slot search, one practitioner, from now",
            f"{reverse('appointments:slots')}?s-practitioner={busiest}",
        ),
        (
            "booking page with its free slots (general medicine)",
            f"{reverse('appointments:book')}?specialty={gp.pk}",
        ),
    ]
    print(
        f"appointments: {Appointment.objects.count():,}, measured day {target_day}, "
        f"runs per case: {args.runs}"
    )
    for label, url in cases:
        median, p95, queries, size = measure(client, url, args.runs)
        print(
            f"{label:<75} median {median:7.1f} ms  p95 {p95:7.1f} ms  "
            f"{queries:2d} queries  {size / 1024:6.0f} KiB"
        )
    with connection.cursor() as cursor:
        start, end = clock.day_bounds(target_day)
        # The query of the day view: bounded below by the longest possible appointment
        # (MAX_DURATION, a check constraint), so that the start index is used for a range.
        cursor.execute(
            "EXPLAIN ANALYZE SELECT * FROM appointments_appointment "
            'WHERE start < %s AND start > %s AND "end" > %s ORDER BY start',
            [end, start - MAX_DURATION, start],
        )
        print("\n".join(row[0] for row in cursor.fetchall()))


if __name__ == "__main__":
    main()
