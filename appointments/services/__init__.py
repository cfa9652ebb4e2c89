"""Writes of the agenda, by topic. Each runs in one transaction with its audit rows
(django-auditlog), attributed to ``acting_user``; bad input raises ValidationError with a
code and a French message and writes nothing.

- ``booking``: one appointment or a series;
- ``changes``: moving, cancelling, recording an outcome (the unit's or the prison's);
- ``availability``: the checks a booking passes (times, opening hours, absences, closures,
  the prison's unavailability windows, overlaps) and the database's guard;
- ``care_requests``, ``visit_tasks``, ``custody``, ``reference``: their own writes;
- ``messages`` and ``texts``: the refusals in words, the free texts' limits.
"""
