"""Reads of the agenda, by topic:

- ``agenda``: the day and week grids, the printable day list, a patient's appointments, the
  appointments to reschedule;
- ``slots``: the next free slots;
- ``care_requests``: the waiting queue and its delays;
- ``visit_tasks``: the mandatory visits to book or hold;
- ``reference``: practitioners, specialties, opening hours.
"""
