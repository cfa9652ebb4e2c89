"""The vocabulary of access events, for callers of the access functions (views pass a
``Purpose``; page rules name the ``Action`` their refusals are recorded as). Importing it
writes nothing: the writing side is ``record``."""

from usmp.audit.models import AccessEvent

Action = AccessEvent.Action
Outcome = AccessEvent.Outcome
Purpose = AccessEvent.Purpose
