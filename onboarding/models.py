"""The record of the first day's imports: one run per file (or workbook sheet) and kind of
rows, named by the file's SHA-256, with where it stopped and the outcome of every line that
was not accepted. A run is what makes ``import_legacy`` resumable and idempotent: the
position advances in the transaction that writes the lines before it.

Nothing identifying is kept here: a line number, a reason code and its message, never a
value read from the file."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

# Lines of a run whose outcome is listed one by one; beyond it they are only counted.
LISTED_LINES_MAX = 10_000


class ImportRun(models.Model):
    class Kind(models.TextChoices):
        PATIENTS = "patients", _("patients")
        APPOINTMENTS = "appointments", _("appointments")

    digest = models.CharField(max_length=64)
    # The sheet of a workbook ("" for a CSV file).
    sheet = models.CharField(max_length=31, blank=True, default="")
    kind = models.CharField(max_length=16, choices=Kind.choices)
    # The file's base name, as the operator gave it (a report names it).
    filename = models.CharField(max_length=255)
    acting_user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    started_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    # Rows of data (after the header) already processed, committed with their writes.
    position = models.PositiveIntegerField(default=0)
    accepted = models.PositiveIntegerField(default=0)
    duplicates = models.PositiveIntegerField(default=0)
    refused = models.PositiveIntegerField(default=0)

    class Meta:
        verbose_name = _("import run")
        verbose_name_plural = _("import runs")
        default_permissions = ("view",)
        constraints = [
            models.UniqueConstraint(
                fields=["digest", "sheet", "kind"], name="import_run_one_per_file"
            )
        ]

    def __str__(self) -> str:
        return f"ImportRun {self.pk}"


class ImportLine(models.Model):
    """A line that was not accepted: a duplicate or a refusal, with its reason."""

    class Outcome(models.TextChoices):
        DUPLICATE = "duplicate", _("duplicate")
        REFUSED = "refused", _("refused")

    run = models.ForeignKey(ImportRun, on_delete=models.CASCADE, related_name="lines")
    line = models.PositiveIntegerField()
    outcome = models.CharField(max_length=10, choices=Outcome.choices)
    code = models.CharField(max_length=40)
    column = models.CharField(max_length=40, blank=True, default="")
    message = models.TextField()

    class Meta:
        verbose_name = _("import line")
        verbose_name_plural = _("import lines")
        default_permissions = ("view",)
        ordering = ["run", "line", "id"]
        indexes = [models.Index(fields=["run", "line"], name="import_line_run")]

    def __str__(self) -> str:
        return f"ImportLine {self.pk}"
