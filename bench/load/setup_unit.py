"""Fill the load scenario's database: the demo unit (development mode, for load_demo), 30
staff accounts with a TOTP device each (10 nurses, 10 physicians, 10 secretaries; invented),
a prison client; write what the locust users need (logins, TOTP keys, patients' ids and
prison numbers, the bridge token) to the JSON file given. Never a real person's data."""

from __future__ import annotations

import base64
import datetime
import json
import os
import secrets
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "usmp.settings")

import django

django.setup()

from django.contrib.auth.models import Group  # noqa: E402
from django.core.management import call_command  # noqa: E402

from appointments.models import OpeningHours, Room  # noqa: E402
from demo.bridge_client import load_demo_bridge  # noqa: E402
from demo.unit import load_demo  # noqa: E402
from dossiers.keys import prison_numbers  # noqa: E402
from dossiers.models import Patient  # noqa: E402
from usmp.accounts.models import SealedTOTPDevice, User  # noqa: E402

ROLES = ["nurse", "physician", "secretary"]


def main() -> int:
    out = Path(sys.argv[1])
    patients = int(sys.argv[2]) if len(sys.argv) > 2 else 1000
    call_command("migrate", verbosity=0)
    load_demo(patients=patients)
    template = OpeningHours.objects.filter(practitioner__username="medecin").first()
    staff = []
    for i in range(30):
        role = ROLES[i % 3]
        password = secrets.token_urlsafe(12)
        user = User.objects.create_user(
            username=f"charge{i:02d}", password=password, first_name="Charge", last_name=f"Essai{i}"
        )
        user.groups.add(Group.objects.get(name=role))
        device = SealedTOTPDevice.enrol(user=user, name="charge", confirmed=True)
        room = None
        if role == "physician" and template is not None:
            # A room of their own, 08:00 to 18:00 every day: a refused booking is then a
            # slot taken, not a closed room.
            room = Room.objects.create(
                name=f"Cabinet de charge {i:02d}", movement_point=template.room.movement_point
            )
            for weekday in range(7):
                OpeningHours.objects.create(
                    practitioner=user,
                    specialty=template.specialty,
                    room=room,
                    weekday=weekday,
                    start_time=datetime.time(8),
                    end_time=datetime.time(18),
                    valid_from=template.valid_from,
                )
        staff.append(
            {
                "username": user.username,
                "password": password,
                "role": role,
                "user_id": user.pk,
                "room": room.pk if room else None,
                "totp": base64.b32encode(device.bin_key).decode(),
            }
        )
    secretary = User.objects.get(username="secretaire")
    token = load_demo_bridge(acting_user=secretary)
    ids = list(Patient.objects.values_list("pk", flat=True))
    numbers = prison_numbers(ids)
    out.write_text(
        json.dumps(
            {
                "staff": staff,
                "patients": [{"id": str(pk), "prison_number": numbers[pk]} for pk in ids],
                "bridge_token": token,
                "specialty": template.specialty_id if template else None,
            }
        ),
        encoding="utf-8",
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
