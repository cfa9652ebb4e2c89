from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AppointmentsConfig(AppConfig):
    name = "appointments"
    verbose_name = _("Appointments")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from usmp.core.audit import register_audited

        from . import models

        for model in (
            models.MovementPoint,
            models.Specialty,
            models.Room,
            models.OpeningHours,
            models.Absence,
            models.RoomClosure,
            models.CareRequest,
            models.Series,
            models.Appointment,
            models.VisitTask,
            models.CustodyEvent,
            models.Unavailability,
            models.MovementOutcome,
            models.HandoverItem,
        ):
            register_audited(model)
