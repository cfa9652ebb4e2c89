"""The audit trail: access events (reads, searches, denials) of our own; writes are recorded
by django-auditlog (usmp.core.audit)."""
