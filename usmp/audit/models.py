from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class AccessEvent(models.Model):
    """One read, search, export or denied attempt. Append-only (database triggers).

    Holds references (ids, blind indexes), never identities or clinical text. The patient is
    a plain UUID so that the audit trail depends on no domain app and outlives any row."""

    class Action(models.TextChoices):
        PATIENT_SEARCH = "patient_search", _("Patient search")
        PATIENT_VIEW = "patient_view", _("Patient identity read")
        LIST_VIEW = "list_view", _("Patient list read (agenda, queue)")
        DOSSIER_VIEW = "dossier_view", _("Dossier read (timeline)")
        ENTRY_HISTORY = "entry_history", _("Entry versions read")
        DOCUMENT_DOWNLOAD = "document_download", _("Document download")
        CONSENTS_VIEW = "consents_view", _("Consents read")
        BREAK_GLASS_OPEN = "break_glass_open", _("Break-the-glass access opened")
        LOGIN = "login", _("Login")
        LOGIN_FAILED = "login_failed", _("Failed login")
        LOGOUT = "logout", _("Logout")
        AUDIT_VIEW = "audit_view", _("Audit log read")
        AUDIT_EXPORT = "audit_export", _("Audit log export")
        ACCESS_REPORT = "access_report", _("Patient access report")
        AUDIT_PURGE = "audit_purge", _("Audit retention purge")
        BRIDGE_PULL = "bridge_pull", _("Bridge: movements pulled")
        BRIDGE_PUSH = "bridge_push", _("Bridge: event pushed")
        ENTRY_VIEW = "entry_view", _("Entry read (for a correction)")
        AGENDA_VIEW = "agenda_view", _("Patient's agenda read")
        APPOINTMENT_VIEW = "appointment_view", _("Appointment read")
        CARE_REQUEST_VIEW = "care_request_view", _("Care request read")
        VISIT_TASK_VIEW = "visit_task_view", _("Mandatory visit read")
        SERIES_VIEW = "series_view", _("Appointment series read")
        BREAK_GLASS_LIST = "break_glass_list", _("Emergency accesses read")
        BRIDGE_CLIENT_VIEW = "bridge_client_view", _("Bridge client read")
        PAGE_OPEN = "page_open", _("Page opened")
        # Strong authentication (issue 15): the second step of a login, its enrolment, the
        # refusal of guessing, and the role changes that need two people.
        SECOND_FACTOR = "second_factor", _("Second factor")
        FACTOR_ENROL = "factor_enrol", _("Second factor enrolled")
        FACTOR_RESET = "factor_reset", _("Second factors reset")
        RPPS_LINK = "rpps_link", _("RPPS number linked or removed")
        LOCKOUT = "lockout", _("Lockout after repeated failures")
        UNLOCK = "unlock", _("Lockout lifted")
        ROLE_CHANGE = "role_change", _("Role change (proposed, confirmed, refused)")
        # Communication of the record (issue 13): the register of requests, and the copy of
        # a whole record (every entry of the compartments asked).
        DISCLOSURE_VIEW = "disclosure_view", _("Request for the record read")
        RECORD_COPY = "record_copy", _("Whole record copied")
        # Certificates and attestations (issue 14): a patient's requests, one request (to
        # decide it or print it), the register without names.
        CERTIFICATE_VIEW = "certificate_view", _("Certificate requests read")
        CERTIFICATE_REGISTER = "certificate_register", _("Register of certificates read")

    class Purpose(models.TextChoices):
        """Why the object was read: what the page or the command does with it."""

        DISPLAY = "display", _("Display")
        CHANGE = "change", _("Change form")
        # A write shows nothing: its trace is the write history. Recorded when refused.
        WRITE = "write", _("Write")
        BOOK = "book", _("Booking")
        PRINT = "print", _("Print")
        EXPORT = "export", _("Export")
        SEARCH = "search", _("Search")
        CHECK = "check", _("Check while typing")

    class Outcome(models.TextChoices):
        ALLOWED = "allowed", _("Allowed")
        DENIED = "denied", _("Denied")

    id = models.BigAutoField(primary_key=True)
    at = models.DateTimeField(default=timezone.now, db_index=True)
    # No index of its own: access_by_actor (actor, -at) serves the lookups by actor, the
    # PROTECT check of a user's deletion included; one index less to write per event.
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        related_name="+",
        db_index=False,
    )
    action = models.CharField(max_length=32, choices=Action.choices)
    outcome = models.CharField(max_length=8, choices=Outcome.choices)
    patient_id = models.UUIDField(null=True, blank=True)
    compartment = models.CharField(max_length=16, blank=True)
    object_type = models.CharField(max_length=32, blank=True)
    object_id = models.CharField(max_length=64, blank=True)
    # For searches: the blind index looked up, never the term typed.
    search_index = models.CharField(max_length=64, blank=True)
    break_glass = models.BooleanField(default=False)
    source_ip = models.GenericIPAddressField(null=True, blank=True)
    # Database defaults too: rows written by hand (a bulk load, a DBA) get them as well.
    purpose = models.CharField(
        max_length=16, choices=Purpose.choices, blank=True, default="", db_default=""
    )
    # The bridge client (the prison's software) that read or pushed, when it is one.
    client_id = models.PositiveBigIntegerField(null=True, blank=True)
    # Refusals of unauthenticated requests are aggregated per source and minute: one event
    # stands for COUNT refusals (usmp.audit.writer.refusal_record).
    count = models.PositiveIntegerField(default=1, db_default=1)

    class Meta:
        verbose_name = _("access event")
        verbose_name_plural = _("access events")
        indexes = [
            models.Index(fields=["patient_id", "-at"], name="access_by_patient"),
            models.Index(fields=["actor", "-at"], name="access_by_actor"),
        ]
        default_permissions = ()
        permissions = [("review_audit", _("Can review the audit trail"))]

    def __str__(self) -> str:
        return f"AccessEvent {self.pk} {self.action} {self.outcome}"

    @staticmethod
    def as_uuid(value: object) -> uuid.UUID | None:
        try:
            return value if isinstance(value, uuid.UUID) else uuid.UUID(str(value))
        except (TypeError, ValueError):
            return None


class RefusalCounter(models.Model):
    """Refusals of unauthenticated requests in one minute from one source, counted here and
    folded into the audit trail as access events (at most two per key and minute), so that
    an anonymous flood cannot grow the append-only log without bound. Not append-only: a
    counter, like the bridge's rate counter."""

    minute = models.DateTimeField()
    source_ip = models.GenericIPAddressField(null=True)
    action = models.CharField(max_length=32)
    object_id = models.CharField(max_length=64, blank=True)
    count = models.PositiveIntegerField(default=0)
    folded = models.PositiveIntegerField(default=0)

    class Meta:
        verbose_name = _("refusal counter")
        default_permissions = ()
        constraints = [
            models.UniqueConstraint(
                fields=["minute", "source_ip", "action", "object_id"],
                name="refusal_counter_key",
                nulls_distinct=False,
            )
        ]
        indexes = [models.Index(fields=["minute"], name="refusal_counter_minute")]

    def __str__(self) -> str:
        return f"RefusalCounter {self.pk}"


class ChainLink(models.Model):
    """One link of the tamper-evident chain over both audit tables (access events and
    django-auditlog's write history), and one leaf of the Merkle tree over them.
    ``row_hash`` = HMAC(audit key, previous hash | canonical content of the row); links are
    numbered without gaps under a lock (usmp.audit.chain). ``leaf_hash`` is the RFC 6962
    leaf hash of the same canonical content: leaf ``seq - 1 - tree offset`` of the tree
    (usmp.audit.tree). Links outlive a purged row: the tree keeps its hash."""

    class Source(models.TextChoices):
        ACCESS = "access", _("Access event")
        WRITE = "write", _("Write history")

    seq = models.BigIntegerField(primary_key=True)
    source = models.CharField(max_length=8, choices=Source.choices)
    source_id = models.BigIntegerField()
    prev_hash = models.CharField(max_length=64)
    row_hash = models.CharField(max_length=64)
    leaf_hash = models.BinaryField(max_length=32)

    class Meta:
        verbose_name = _("audit chain link")
        constraints = [
            models.UniqueConstraint(fields=["source", "source_id"], name="chain_one_link_per_row")
        ]

    def __str__(self) -> str:
        return f"ChainLink {self.seq}"


class Checkpoint(models.Model):
    """A recorded head of the chain and the tree: ``note`` is the checkpoint (tree size, root
    hash, time) signed with the keyring's Ed25519 key in the C2SP signed-note format (also
    printed, to be kept outside the database)."""

    id = models.BigAutoField(primary_key=True)
    at = models.DateTimeField(default=timezone.now)
    seq = models.BigIntegerField()
    head_hash = models.CharField(max_length=64)
    # A purge moves the chain's start: verification resumes from this link's hash.
    is_purge_boundary = models.BooleanField(default=False)
    purged_access_events = models.BigIntegerField(default=0)
    # Write-history rows up to this id lost their links in a purge (the rows are kept).
    unlinked_writes_through = models.BigIntegerField(null=True, blank=True)
    tree_size = models.BigIntegerField(null=True, blank=True)
    root_hash = models.BinaryField(max_length=32, null=True, blank=True)
    note = models.TextField(blank=True)

    class Meta:
        verbose_name = _("audit checkpoint")
        get_latest_by = "seq"

    def __str__(self) -> str:
        return f"Checkpoint {self.seq}"


class SequencerState(models.Model):
    """The sequencer's horizon: every transaction older than it had ended when the last pass
    ran, so its audit rows are linked (usmp.audit.chain.sequence). One row."""

    id = models.PositiveSmallIntegerField(primary_key=True, default=1)
    horizon = models.BigIntegerField(default=0)
    # When the last pass that left nothing committed behind began: writers step in when it
    # is old (no sequencer runs), /healthz and audit_verify report rows waiting past the bound.
    caught_up_at = models.DateTimeField(null=True, blank=True)
    # The Merkle tree: its leaves are the links after the first TREE_OFFSET (links purged
    # before the tree existed); FRONTIER is its compact range (usmp.audit.merkle).
    tree_offset = models.BigIntegerField(default=0)
    tree_size = models.BigIntegerField(default=0)
    frontier = models.BinaryField(default=b"")

    class Meta:
        verbose_name = _("audit sequencer state")
        default_permissions = ()

    def __str__(self) -> str:
        return f"SequencerState {self.horizon}"


class TreeNode(models.Model):
    """A node of the Merkle tree at a level that is a multiple of 8 (the root of 256, 65,536...
    leaves), so that any subtree hash is computed from at most 255 stored hashes (leaves are
    in ChainLink). Append-only."""

    level = models.PositiveSmallIntegerField()
    index = models.BigIntegerField()
    hash = models.BinaryField(max_length=32)

    class Meta:
        verbose_name = _("audit tree node")
        default_permissions = ()
        constraints = [
            models.UniqueConstraint(fields=["level", "index"], name="tree_node_position")
        ]

    def __str__(self) -> str:
        return f"TreeNode {self.level}/{self.index}"
