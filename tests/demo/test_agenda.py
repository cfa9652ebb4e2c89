"""The demo unit comes with a realistic agenda (make run)."""

from __future__ import annotations

import pytest

from appointments.models import Appointment, CareRequest, OpeningHours, Status, VisitTask
from demo.unit import load_demo

pytestmark = pytest.mark.django_db


def test_demo_has_an_agenda():
    load_demo(patients=60)
    assert OpeningHours.objects.count() > 20
    assert Appointment.objects.filter(status=Status.PLANNED).count() > 50
    assert Appointment.objects.filter(status=Status.DONE).count() > 50
    assert Appointment.objects.exclude(reason="").exists()
    assert CareRequest.objects.filter(status=CareRequest.Status.WAITING).count() == 14
    assert VisitTask.objects.filter(kind=VisitTask.Kind.PRE_RELEASE).exists()
