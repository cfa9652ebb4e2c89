"""A unit's busy day (issue 16): 30 staff and the prison's software, against gunicorn.

Staff log in with their password and TOTP code, then search patients (POST, as the form
does), open the day, the home page, patients' pages and dossiers, write notes (clinicians)
and book appointments (secretaries). The prison polls the movements every minute and pushes
custody events. Pages are named by their route, not their address (ids differ).

Data comes from the JSON file named by LOAD_DATA (bench/load/setup_unit.py)."""

from __future__ import annotations

import base64
import datetime
import json
import os
import random
import re
import secrets
import time
import zoneinfo

import gevent
from django_otp.oath import TOTP
from locust import HttpUser, constant, events, task

DATA = json.loads(open(os.environ["LOAD_DATA"], encoding="utf-8").read())  # noqa: SIM115
STAFF = list(DATA["staff"])
PATIENTS = DATA["patients"]
LAST_NAMES = ["Martin", "Bernard", "Thomas", "Petit", "Robert", "Richard", "Durand", "Dubois"]
CSRF = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')
# Behind the hospital's TLS proxy (BEHIND_TLS_PROXY=1, one trusted proxy).
PROXY = {"X-Forwarded-Proto": "https", "X-Forwarded-For": "10.0.0.1"}
_used_steps: dict[str, int] = {}
PARIS = zoneinfo.ZoneInfo("Europe/Paris")


def today() -> datetime.date:
    return datetime.datetime.now(PARIS).date()


APPOINTMENT = re.compile(r"/agenda/([0-9a-f-]{36})/\"")
MOVE_REASONS = ["practitioner_absent", "patient_unavailable", "unit_organisation"]

# The step ramp: each step's pace divides the staff's think time.
PACES = [float(p) for p in os.environ.get("LOAD_PACES", "1").split(",")]
STEP_SECONDS = float(os.environ.get("LOAD_STEP_SECONDS", "60"))
# The logins of 30 people at once (password hashing) are not the day's pace: the steps start
# after this warm-up, recorded apart.
WARMUP_SECONDS = float(os.environ.get("LOAD_WARMUP_SECONDS", "30"))
# Nor is the burst right after them: the 30 first tasks at once, on workers whose templates
# and caches are cold. The steps start this long after the last login, at pace 1 meanwhile,
# recorded with the warm-up (a day's staff arrive over an hour, not in one second).
SETTLE_SECONDS = float(os.environ.get("LOAD_SETTLE_SECONDS", "30"))
_clock: dict[str, float] = {}
_record: list[dict[str, dict]] = [{} for _ in PACES]  # type: ignore[type-arg]
_warmup: dict[str, dict] = {}  # type: ignore[type-arg]
_runner: dict[str, object] = {}


def step() -> int:
    """The step under way: -1 during the warm-up, which ends SETTLE_SECONDS after every
    staff member has logged in (or after WARMUP_SECONDS of logins)."""
    now = time.time()
    started = _clock.setdefault("start", now)
    if "steps" not in _clock:
        if _clock.get("logged_in", 0) < len(DATA["staff"]) and now - started < WARMUP_SECONDS:
            return -1
        settled = _clock.setdefault("settled", now + SETTLE_SECONDS)
        if now < settled:
            return -1
        _clock["steps"] = now
    index = int((now - _clock["steps"]) // STEP_SECONDS)
    if index >= len(PACES) and "quit" not in _clock:
        # The ramp is over: stop now rather than at --run-time (an upper bound).
        _clock["quit"] = now
        runner = _runner.get("runner")
        if runner is not None:
            gevent.spawn(runner.quit)
    return min(index, len(PACES) - 1)


def think(low: float, high: float):  # type: ignore[no-untyped-def]
    def wait(user: HttpUser) -> float:
        return random.uniform(low, high) / PACES[max(step(), 0)]

    return wait


def totp_code(key: str) -> str:
    """The current code, never one this account used already (replays are refused)."""
    totp = TOTP(base64.b32decode(key))
    step = int(time.time()) // 30
    last = _used_steps.get(key, -1)
    if last >= step:
        step = last + 1
    _used_steps[key] = step
    totp.time = step * 30 + 1
    return f"{totp.token():06d}"


class Staff(HttpUser):
    wait_time = think(2, 8)

    def on_start(self) -> None:
        self.client.headers.update(PROXY)
        self.me = STAFF.pop(0) if STAFF else random.choice(DATA["staff"])
        page = self.client.get("/accounts/login/", name="login")
        self._post(
            "/accounts/login/",
            page,
            {"username": self.me["username"], "password": self.me["password"]},
            name="login",
        )
        page = self.client.get("/accounts/login/second-factor/", name="second_factor")
        self._post(
            "/accounts/login/second-factor/",
            page,
            {"code": totp_code(self.me["totp"])},
            name="second_factor",
        )
        _clock["logged_in"] = _clock.get("logged_in", 0) + 1

    def _post(self, url: str, page, data: dict, name: str):  # type: ignore[no-untyped-def]
        match = CSRF.search(page.text or "")
        data = {**data, "csrfmiddlewaretoken": match.group(1) if match else ""}
        return self.client.post(url, data=data, name=name, headers={"Referer": self.referer(url)})

    def referer(self, path: str) -> str:
        """The page's address as the browser behind the TLS proxy has it (the CSRF check
        compares it with the host, port included)."""
        return "https://" + self.host.split("://", 1)[1].rstrip("/") + path

    @property
    def clinician(self) -> bool:
        return self.me["role"] != "secretary"

    @task(3)
    def home(self) -> None:
        self.client.get("/", name="home")

    @task(6)
    def search(self) -> None:
        page = self.client.get("/patients/", name="patient_search")
        self._post(
            "/patients/", page, {"last_name": random.choice(LAST_NAMES)}, name="patient_search POST"
        )

    @task(4)
    def day(self) -> None:
        day = today() + datetime.timedelta(days=random.randint(0, 3))
        self.client.get(f"/agenda/?day={day.isoformat()}", name="day")

    @task(4)
    def patient(self) -> None:
        patient = random.choice(PATIENTS)
        self.client.get(f"/patients/{patient['id']}/", name="patient_detail")

    @task(4)
    def dossier(self) -> None:
        if not self.clinician:
            return
        patient = random.choice(PATIENTS)
        self.client.get(f"/patients/{patient['id']}/dossiers/somatic/", name="dossier_detail")

    @task(2)
    def note(self) -> None:
        if not self.clinician:
            return
        patient = random.choice(PATIENTS)
        dossier = f"/patients/{patient['id']}/dossiers/somatic/"
        # The note form is on the dossier's page; it posts to entries/new/.
        page = self.client.get(dossier, name="dossier_detail")
        self._post(
            dossier + "entries/new/",
            page,
            {"kind": "observation", "text": "Note de charge " + secrets.token_hex(8)},
            name="entry_create POST",
        )

    @task(2)
    def book(self) -> None:
        if self.clinician:
            return
        physician = random.choice([s for s in DATA["staff"] if s["role"] == "physician"])
        day = today() + datetime.timedelta(days=random.randint(2, 30))
        minute = random.randrange(0, 8 * 60, 15)
        start = datetime.time(9 + minute // 60 % 8, minute % 60)
        end = (datetime.datetime.combine(day, start) + datetime.timedelta(minutes=15)).time()
        page = self.client.get("/agenda/book/", name="book")
        match = CSRF.search(page.text or "")
        data = {
            "csrfmiddlewaretoken": match.group(1) if match else "",
            "prison_number": random.choice(PATIENTS)["prison_number"],
            "specialty": DATA["specialty"],
            "kind": "on_site",
            "practitioner": physician["user_id"],
            "room": physician["room"],
            "date": day.isoformat(),
            "start_time": start.strftime("%H:%M"),
            "end_time": end.strftime("%H:%M"),
        }
        with self.client.post(
            "/agenda/book/",
            data=data,
            name="book POST",
            headers={"Referer": self.referer("/agenda/book/")},
            allow_redirects=False,
            catch_response=True,
        ) as response:
            # A slot taken meanwhile (409) or outside the hours (400) is the service
            # refusing with its message: a normal outcome of a busy day, not an error.
            if response.status_code in (302, 303):
                response.success()
            elif response.status_code in (200, 400, 409):
                # 200: the page asks to confirm (a point left to one specialty), nothing
                # written.
                response.success()
                _count_refusal("book POST")
            else:
                response.failure(f"status {response.status_code}")

    @task(1)
    def move(self) -> None:
        """Open a day of the coming weeks, one of its appointments, and move it."""
        day = today() + datetime.timedelta(days=random.randint(2, 30))
        listing = self.client.get(f"/agenda/?day={day.isoformat()}", name="day")
        found = sorted(set(APPOINTMENT.findall(listing.text or "")))
        if not found:
            return
        url = f"/agenda/{random.choice(found)}/move/"
        page = self.client.get(url, name="move")
        match = CSRF.search(page.text or "")
        minute = random.randrange(0, 8 * 60, 15)
        start = datetime.time(9 + minute // 60 % 8, minute % 60)
        end = (datetime.datetime.combine(day, start) + datetime.timedelta(minutes=15)).time()
        physician = random.choice([s for s in DATA["staff"] if s["role"] == "physician"])
        with self.client.post(
            url,
            data={
                "csrfmiddlewaretoken": match.group(1) if match else "",
                "date": day.isoformat(),
                "start_time": start.strftime("%H:%M"),
                "end_time": end.strftime("%H:%M"),
                "practitioner": physician["user_id"],
                "room": physician["room"],
                "reason": random.choice(MOVE_REASONS),
            },
            name="move POST",
            headers={"Referer": self.referer(url)},
            allow_redirects=False,
            catch_response=True,
        ) as response:
            if response.status_code in (302, 303):
                response.success()
            elif response.status_code in (200, 400, 409):
                response.success()
                _count_refusal("move POST")
            else:
                response.failure(f"status {response.status_code}")


class Prison(HttpUser):
    """The prison's software: a pull every minute, now and then a custody event."""

    wait_time = constant(60)
    fixed_count = 1

    def on_start(self) -> None:
        self.client.headers.update({**PROXY, "Authorization": f"Bearer {DATA['bridge_token']}"})

    @task
    def poll(self) -> None:
        self.client.get("/bridge/v1/movements", name="bridge movements")
        patient = random.choice(PATIENTS)
        self.client.post(
            "/bridge/v1/custody-events",
            json={
                "id": "load-" + secrets.token_hex(8),
                "prison_number": patient["prison_number"],
                "kind": "arrival",
                "date": today().isoformat(),
            },
            name="bridge custody-event",
        )


def _slot(name: str) -> dict:  # type: ignore[type-arg]
    index = step()
    bucket = _warmup if index < 0 else _record[index]
    return bucket.setdefault(name, {"times": [], "errors": 0, "refused": 0, "messages": []})


def _count_refusal(name: str) -> None:
    _slot(name)["refused"] += 1


@events.test_start.add_listener
def _start(environment, **kwargs):  # type: ignore[no-untyped-def]
    _clock["start"] = time.time()
    _runner["runner"] = environment.runner


@events.request.add_listener
def _request(name, response_time, exception, response=None, **kwargs):  # type: ignore[no-untyped-def]
    slot = _slot(name)
    slot["times"].append(response_time)
    if exception is not None:
        slot["errors"] += 1
        if len(slot["messages"]) < 3:
            slot["messages"].append(str(exception)[:160])


@events.quitting.add_listener
def _write(**kwargs):  # type: ignore[no-untyped-def]
    start = _clock.get("steps", time.time())
    steps = [
        {
            "pace": pace,
            "start": start + i * STEP_SECONDS,
            "end": min(start + (i + 1) * STEP_SECONDS, _clock.get("quit", time.time())),
            "requests": _record[i],
        }
        for i, pace in enumerate(PACES)
    ]
    path = os.environ.get("LOAD_RESULT")
    if path:
        with open(path, "w", encoding="utf-8") as fh:
            json.dump({"steps": steps, "warmup": _warmup}, fh)
